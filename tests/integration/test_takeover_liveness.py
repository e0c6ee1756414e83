"""A takeover is not held up by an owner paused in the middle of a commit (SIGSTOP, a VM
freeze): loading a shard does not touch rows of the shards it is not taking, a take that
hangs holds up neither the lease renewals nor the takes of other shards."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from engine_core import fsm
from service.config import Settings
from service.domain.markets import load_markets, shard_of
from service.store import batch as store
from service.store.fencing import advance
from service.store.worker import load_worker_state
from service.worker.leases import Balancer, Leases
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.integration


def test_loading_a_shard_does_not_wait_for_a_paused_commit_of_another(settings: Settings) -> None:
    markets = load_markets(settings.markets_file)
    paused_symbol = "SOL/USDC"
    paused_shard = shard_of(paused_symbol, settings.shards)
    others = sorted(m for m in markets if shard_of(m, settings.shards) != paused_shard)
    assert others
    taken = [
        m for m in others if shard_of(m, settings.shards) == shard_of(others[0], settings.shards)
    ]
    # every market's rows exist, as once a first owner has run
    load_worker_state(settings.database_url, markets, sorted(markets), sorted(fsm.LIVE))

    async def main() -> None:
        assert await advance(settings.database_url, paused_shard, 1, "paused") is None
        paused = await store.connect(settings.database_url)
        try:
            await paused.execute(store.FENCE, ([paused_shard], [1]))
            await paused.execute(  # its commit has written the pool rows, then it stopped
                "UPDATE pools SET version = version + 1 WHERE symbol = %s", (paused_symbol,)
            )
            # The wait only ends a test that would hang: without the fix the load waits on
            # the paused transaction's row locks, then fails on its lock_timeout.
            pools, _versions, _refs, _live = await asyncio.wait_for(
                asyncio.to_thread(
                    load_worker_state, settings.database_url, markets, taken, sorted(fsm.LIVE)
                ),
                timeout=60,
            )
            assert set(pools) == set(taken)
        finally:
            await paused.close()  # its transaction rolled back

    asyncio.run(main())


def test_a_hung_take_holds_up_neither_renewals_nor_other_takes(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    settings = make_settings(SHARDS="4", LEASE_TTL_MS="800")
    hung_shard = 1

    async def main() -> None:
        r = aioredis.Redis.from_url(REDIS_URL)
        leases = Leases(settings, r, "me")
        taken: list[int] = []
        release = asyncio.Event()

        async def take(shard: int, epoch: int, clean: bool) -> int | None:
            if shard == hung_shard:
                await release.wait()  # e.g. PostgreSQL waiting out a paused owner's lock
            taken.append(shard)
            return None

        async def give_up(shard: int) -> bool:
            return False

        lost: list[int] = []
        balancer = Balancer(leases, settings.shards, take, give_up, lost.extend, static=None)
        stop = asyncio.Event()
        running = asyncio.create_task(balancer.run(stop))
        deadline = time.monotonic() + 30  # only ends a test that would hang
        while sorted(taken) != [0, 2, 3] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert sorted(taken) == [0, 2, 3]
        await asyncio.sleep(3 * leases.ttl_ms / 1000)  # three lease lifetimes, take still hung
        assert lost == []
        for shard in range(settings.shards):
            value = redis_client.get(settings.lease_key(shard))
            assert value is not None and value.decode().startswith("me "), shard
        release.set()
        while len(taken) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert sorted(taken) == [0, 1, 2, 3] and lost == []
        stop.set()
        await asyncio.wait_for(running, timeout=30)
        await balancer.leave(clean=True)
        await r.aclose()

    asyncio.run(main())


def test_a_stopping_member_renews_what_it_holds_and_takes_nothing_more(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    settings = make_settings(SHARDS="4", LEASE_TTL_MS="800")

    async def main() -> None:
        r = aioredis.Redis.from_url(REDIS_URL)
        leases = Leases(settings, r, "me")
        taken: list[int] = []

        async def take(shard: int, epoch: int, clean: bool) -> int | None:
            taken.append(shard)
            return None

        async def give_up(shard: int) -> bool:
            return False

        lost: list[int] = []
        stopping = asyncio.Event()
        balancer = Balancer(leases, settings.shards, take, give_up, lost.extend, None, stopping)
        stop = asyncio.Event()
        running = asyncio.create_task(balancer.run(stop))
        deadline = time.monotonic() + 30  # only ends a test that would hang
        while len(taken) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert sorted(taken) == [0, 1, 2, 3]
        stopping.set()
        await leases.release(2, clean=True)  # as another member stopping lets a shard go
        await asyncio.sleep(3 * leases.ttl_ms / 1000)  # 12 rounds: a running member retakes it
        assert sorted(taken) == [0, 1, 2, 3] and lost == []
        assert redis_client.get(settings.lease_key(2)) is None
        for shard in (0, 1, 3):
            value = redis_client.get(settings.lease_key(shard))
            assert value is not None and value.decode().startswith("me "), shard
        stop.set()
        await asyncio.wait_for(running, timeout=30)
        await balancer.leave(clean=True)
        await r.aclose()

    asyncio.run(main())
