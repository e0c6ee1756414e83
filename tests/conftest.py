"""Shared fixtures: real PostgreSQL and Redis (a running pair on the default ports, or
embedded ones when none answers), each test isolated in its own schema, database or key
prefix. Nothing is skipped."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from hypothesis import settings
from psycopg import sql
from psycopg.conninfo import make_conninfo

# Property tests: the README's test command (and CI) runs each one on the same examples every
# time (derived from the test itself), so a red run means the change broke something, not
# that the draw was unlucky. To look for new cases, run them on random examples:
#   python -m pytest tests/unit --hypothesis-profile=explore [--hypothesis-seed=N]
# (a failure prints the blob that replays it: @reproduce_failure).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile("repeatable")

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _answers(dsn: str, redis_url: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2):
            pass
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except (psycopg.Error, redis.RedisError, OSError):
        return False
    return True


def _test_servers() -> tuple[str, str]:
    """TEST_DATABASE_URL / TEST_REDIS_URL when set; else PostgreSQL on :5432 and Redis on
    :6379 when both answer; else embedded ones (the `embedded` extra, in a temporary
    directory, stopped and removed when the test run ends; TEST_SERVERS=embedded forces
    them), so the test command works on a machine with no servers."""
    dsn = os.environ.get("TEST_DATABASE_URL")
    url = os.environ.get("TEST_REDIS_URL")
    forced = os.environ.get("TEST_SERVERS") == "embedded"
    if dsn or url or (not forced and _answers(DEFAULT_DSN, DEFAULT_REDIS_URL)):
        return dsn or DEFAULT_DSN, url or DEFAULT_REDIS_URL
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    from service.runtime.embedded import EmbeddedServers

    root = Path(tempfile.mkdtemp(prefix="order-engine-test-servers-"))
    servers = EmbeddedServers(root)
    servers.start()

    def stop() -> None:
        servers.stop()
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    return servers.urls["DATABASE_URL"], servers.urls["REDIS_URL"]


BASE_DSN, REDIS_URL = _test_servers()


@pytest.fixture(scope="session")
def base_dsn() -> str:
    return BASE_DSN


@pytest.fixture
def pg_schema(base_dsn: str) -> Iterator[str]:
    """A conninfo whose search_path is a fresh schema with the migrations applied."""
    from service.store.migrate import migrate

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_dsn, autocommit=True) as c:
        c.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    dsn = make_conninfo(base_dsn, options=f"-csearch_path={name}")
    migrate(dsn)
    yield dsn
    with psycopg.connect(base_dsn, autocommit=True) as c:
        c.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def pg_database(base_dsn: str) -> Iterator[str]:
    """A fresh, empty database (for processes that run their own migrations)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_dsn, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_conninfo(base_dsn, dbname=name)
    with psycopg.connect(base_dsn, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    prefix = f"test:{uuid.uuid4().hex[:8]}"
    yield prefix
    for key in redis_client.scan_iter(match=f"{prefix}:*"):
        redis_client.unlink(key)


@pytest.fixture
def make_settings(pg_schema: str, redis_prefix: str):
    """Settings for one isolated test (its own schema and Redis prefix, zero mock latency),
    with any variable overridden."""
    from service.config import Settings

    def make(**env: str):
        return Settings.from_env(
            {
                "DATABASE_URL": pg_schema,
                "REDIS_URL": REDIS_URL,
                "REDIS_PREFIX": redis_prefix,
                "MOCK_QUOTE_LATENCY_MS": "0",
                "MOCK_SWAP_LATENCY_MS": "0",
                "QUEUE_RATE_LIMIT_MAX": "1000000",
                "QUEUE_CONCURRENCY": "32",
                "WORKERS": "1",
                "SHARDS": "4",
                "RETRY_BASE_MS": "10",
                **env,
            }
        )

    return make


@pytest.fixture
def settings(make_settings):
    return make_settings()
