"""The e2e tests' engine: `order-engine up` on free ports against a fresh database and its
own Redis key prefix (tests/helpers/engine.py starts and stops it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.engine import Engine, running_engine


@pytest.fixture
def engine(pg_database: str, redis_prefix: str, tmp_path: Path) -> Iterator[Engine]:
    with running_engine(pg_database, redis_prefix, tmp_path) as eng:
        yield eng
