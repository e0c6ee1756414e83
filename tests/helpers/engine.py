"""The e2e tests' engine: bench/launch.py's launcher bound to the test servers' Redis (which
may be the embedded one tests/conftest.py started)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from bench.launch import Engine, engine_command, free_port, wait_until_up
from bench.launch import running_engine as _running_engine
from tests.conftest import REDIS_URL

__all__ = ["Engine", "engine_command", "free_port", "running_engine", "wait_until_up"]


@contextlib.contextmanager
def running_engine(
    database_url: str, redis_prefix: str, workdir: Path, **extra: str
) -> Iterator[Engine]:
    with _running_engine(database_url, redis_prefix, workdir, redis_url=REDIS_URL, **extra) as e:
        yield e
