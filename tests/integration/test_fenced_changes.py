"""Changes of a shard found lost while their batch was being written (the lease expired during
a pause, PostgreSQL refused the epoch): never stored, never published, and nothing left
waiting for them. An execution that waited for such a change used to hang until the stop's
45 s timeout (seen after SIGSTOP/SIGCONT of a worker, `bench.chaos -s sigstop`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import psycopg
import pytest

from service.config import Settings
from service.domain.markets import load_markets, shard_of
from service.domain.order import LiveOrder
from service.store.redis_client import async_client
from service.worker.writer import EventWriter

pytestmark = pytest.mark.integration

SYMBOL = "SOL/USDC"


class LostEverything:
    """The writer's view of a worker whose every lease was found lost at the fence."""

    def __init__(self, shards: int) -> None:
        self.shards = shards
        self.lost_shards: list[int] = []

    def shard(self, symbol: str) -> int:
        return shard_of(symbol, self.shards)

    async def fence(self, shards: set[int]) -> tuple[list[int], list[int]]:
        return [], []

    def lost(self, shards: Iterable[int]) -> None:
        self.lost_shards.extend(shards)

    def pool_version(self, symbol: str, venue: str) -> int | None:
        return None

    def pools_stored(self, rows: list[tuple[str, str]]) -> None:
        pass


def _order(settings: Settings) -> LiveOrder:
    market = load_markets(settings.markets_file)[SYMBOL]
    return LiveOrder(
        id=str(uuid.uuid4()),
        client_id="fenced",
        symbol=SYMBOL,
        side="buy",
        type="market",
        time_in_force="IOC",
        amount=10**9,
        limit_price=None,
        slippage_bps=50,
        status="pending",
        seq=1,
        filled=0,
        quote_amount=0,
        fees=0,
        attempts=1,
        tx_hash=None,
        failure_reason=None,
        created_at=datetime.now(UTC),
        expires_at=None,
        market=market,
    )


def test_a_change_fenced_off_mid_batch_is_cancelled_not_left_waiting(settings: Settings) -> None:
    owner = LostEverything(settings.shards)
    order = _order(settings)

    async def main() -> asyncio.Future[object]:
        redis = async_client(settings.redis_url, settings.redis_cluster)
        writer = EventWriter(
            settings.database_url,
            redis,
            settings.events_channel,
            settings.group,
            lambda _sym: [],
            lambda _sym: (None, True),
            owner,
        )
        task = asyncio.create_task(writer.run())
        change = writer.transition(order, "routing")
        await asyncio.wait([change], timeout=5)
        writer.stop()
        await asyncio.wait_for(task, 5)
        await redis.aclose()
        return change

    change = asyncio.run(main())
    assert change.cancelled(), "the dropped change's future is still pending"
    assert owner.lost_shards == [shard_of(SYMBOL, settings.shards)]
    with psycopg.connect(settings.database_url) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM order_events WHERE order_id = %s", (order.id,)
        ).fetchone()
    assert stored == (0,)
