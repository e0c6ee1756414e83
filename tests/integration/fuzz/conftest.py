"""Fixtures of the fuzz tests: the app on its own schema and Redis prefix, open
(`open_target`) or with API keys (`keyed_target`), and the status-code totals printed at the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.helpers.fuzz_target import KEY_A, KEY_B, TOTAL, Target, _report


@pytest.fixture
def open_target(make_settings: Any, redis_client: redis.Redis) -> Iterator[Target]:
    t = Target(make_settings(RATE_LIMIT_PER_MIN="100000000"), redis_client)
    yield t
    t.close()
    _report("open", t.codes)


@pytest.fixture
def keyed_target(
    make_settings: Any, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Target]:
    # Schemathesis sends thousands of wrong keys from one address, and checks each is
    # refused 401/403: the bad-key budget (30 a minute, tests/integration/test_auth.py)
    # would answer 429 after the first 30.
    monkeypatch.setattr("service.api.client_rate_limit.BAD_KEYS_PER_MIN", 100_000_000)
    t = Target(
        make_settings(
            API_KEYS=f"{KEY_A}=alice,{KEY_B}=bob",
            RATE_LIMIT_PER_MIN="100000000",
        ),
        redis_client,
    )
    yield t
    t.close()
    _report("keyed", t.codes)


# Package scope: the total is printed once, after the last fuzz module (it was one module).
@pytest.fixture(scope="package", autouse=True)
def _total() -> Iterator[None]:
    yield
    _report("total", TOTAL)
