"""Shard leases and fencing on the real PostgreSQL and Redis: workers share the shards, a
dead one's are taken over, and an owner whose epoch is not current any more (paused,
partitioned, overtaken) never writes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from service.config import Settings
from service.domain.markets import shard_of
from service.store import batch as store
from service.store.fencing import STALE_EPOCH, advance
from service.worker.worker import Worker
from tests.conftest import REDIS_URL
from tests.helpers.worker import post_orders

pytestmark = pytest.mark.integration

FAST = {"LEASE_TTL_MS": "1200", "SIM_TICK_MS": "0", "MOCK_BLOCKHASH_VALIDITY_MS": "2000"}
FINAL = ("filled", "failed", "canceled", "expired", "rejected")


async def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Wait for `check()` to be truthy (the timeout only ends a test that would hang)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    return asyncio.run(until(check, timeout, what))


def owners(settings: Settings, r: redis.Redis) -> dict[int, str | None]:
    out = {}
    for shard in range(settings.shards):
        v = r.get(settings.lease_key(shard))
        out[shard] = v.decode().rsplit(" ", 1)[0] if v else None
    return out


def pg_epochs(settings: Settings) -> dict[int, int]:
    with psycopg.connect(settings.database_url) as conn:
        return dict(conn.execute("SELECT shard, epoch FROM shard_owners").fetchall())


def final_count(settings: Settings, ids: list[str]) -> int:
    with psycopg.connect(settings.database_url) as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM orders WHERE id = ANY(%s::uuid[]) AND status = ANY(%s)",
                (ids, list(FINAL)),
            ).fetchone()[0]
        )


def test_two_pool_workers_share_the_shards_and_one_left_takes_them_all(make_settings: Any) -> None:
    settings = make_settings(SHARDS="6", **FAST)

    async def main() -> None:
        a, b = Worker(settings, slot=0), Worker(settings, slot=1)
        ta = asyncio.create_task(a.run())
        await until(lambda: len(a.shards) == 6, 15, "the first worker to take every shard")
        tb = asyncio.create_task(b.run())
        await until(
            lambda: len(a.shards) == 3 and len(b.shards) == 3, 20, "the shards to be shared"
        )
        assert set(a.shards) | set(b.shards) == set(range(6))
        epochs = pg_epochs(settings)
        assert all(epochs[s] == b.leases.held[s].epoch for s in b.shards)
        b.stop()
        await asyncio.wait_for(tb, 30)
        await until(lambda: len(a.shards) == 6, 15, "the one left to take them all")
        a.stop()
        await asyncio.wait_for(ta, 30)

    asyncio.run(main())


def test_commit_with_a_stale_epoch_fails_and_writes_nothing(settings: Settings) -> None:
    [oid] = post_orders(settings, 1)
    shard = shard_of("SOL/USDC", settings.shards)

    async def main() -> None:
        assert await advance(settings.database_url, shard, 1, "old") is None
        assert await advance(settings.database_url, shard, 2, "new") is None
        assert await advance(settings.database_url, shard, 2, "again") == 2  # never back
        conn = await store.connect(settings.database_url)
        now = datetime.now(UTC)
        order = {
            "id": oid, "status": "routing", "seq": 2, "filled": 0, "quote_amount": 0,
            "fees": 0, "attempts": 1, "tx_hash": None, "failure_reason": None,
            "route": None, "ts": now,
        }  # fmt: skip
        event = {
            "order_id": oid, "client_id": "c0", "seq": 2, "status": "routing", "ts": now,
            "payload": {}, "shard": shard,
        }  # fmt: skip
        kw: dict[str, Any] = {
            "orders": [order], "events": [event], "fills": [], "attempts": [], "pools": [],
            "markets": [], "now": now,
        }  # fmt: skip
        with pytest.raises(psycopg.Error) as refused:
            await store.commit_batch(conn, fence=([shard], [1]), **kw)
        assert refused.value.sqlstate == STALE_EPOCH
        await conn.rollback()
        with psycopg.connect(settings.database_url) as c:
            row = c.execute("SELECT status, seq FROM orders WHERE id = %s", (oid,)).fetchone()
            events = c.execute(
                "SELECT count(*) FROM order_events WHERE order_id = %s", (oid,)
            ).fetchone()
        assert row == ("pending", 1) and events == (1,)
        got = await store.commit_batch(conn, fence=([shard], [2]), **kw)
        assert list(got) == [(oid, 2)]  # the current epoch writes
        await conn.close()

    asyncio.run(main())


def test_takeover_ends_a_writer_paused_mid_commit_whose_transaction_is_rolled_back(
    settings: Settings,
) -> None:
    """An old owner stopped in the middle of its commit holds the fence's row lock: the
    advance ends that writer session instead of waiting for the pause to end."""
    shard = shard_of("SOL/USDC", settings.shards)

    async def main() -> None:
        assert await advance(settings.database_url, shard, 1, "old") is None
        paused = await store.connect(settings.database_url)
        await paused.execute(store.FENCE, ([shard], [1]))  # a commit begun, never finished
        assert (
            await asyncio.wait_for(advance(settings.database_url, shard, 2, "new"), timeout=60)
            is None
        )
        with pytest.raises(psycopg.OperationalError):  # its session was ended
            await paused.execute("SELECT 1")
        with psycopg.connect(settings.database_url) as c:
            epoch = c.execute(
                "SELECT epoch FROM shard_owners WHERE shard = %s", (shard,)
            ).fetchone()
        assert epoch == (2,)
        await paused.close()

    asyncio.run(main())


def test_worker_overtaken_in_postgres_drops_the_shard_and_publishes_nothing(
    settings: Settings, redis_client: redis.Redis
) -> None:
    shard = shard_of("SOL/USDC", settings.shards)
    pubsub = redis_client.pubsub()
    pubsub.subscribe(settings.events_channel)

    async def main() -> list[str]:
        worker = Worker(settings, 0, 1)
        task = asyncio.create_task(worker.run())
        await until(lambda: shard in worker.shards, 15, "the worker to take the shard")
        # Another owner took the shard with a later epoch (its Redis lease not yet visible).
        epoch = worker.leases.held[shard].epoch
        assert await advance(settings.database_url, shard, epoch + 1, "other") is None
        ids = post_orders(settings, 3)
        await until(lambda: shard not in worker.shards, 15, "the worker to drop the shard")
        await asyncio.sleep(0.5)  # anything it would still do
        worker.stop()
        await asyncio.wait_for(task, 30)
        return ids

    ids = asyncio.run(main())
    with psycopg.connect(settings.database_url) as conn:
        statuses = conn.execute(
            "SELECT DISTINCT status FROM orders WHERE id = ANY(%s::uuid[])", (ids,)
        ).fetchall()
        events = conn.execute(
            "SELECT max(seq) FROM order_events WHERE order_id = ANY(%s::uuid[])", (ids,)
        ).fetchone()
    assert statuses == [("pending",)] and events == (1,)
    published = []
    while (m := pubsub.get_message(timeout=0.2)) is not None:
        if m["type"] == "message":
            published.append(m["data"])
    # only the API's `pending` events (published at acceptance): nothing from the worker
    assert published and not any(b"routing" in data for data in published)
    pubsub.close()


# -- real processes --
@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(settings: Settings, name: str, *args: str, **env: str):
        log = tmp_path / f"{name}.log"
        full = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": REDIS_URL,
            "REDIS_PREFIX": settings.redis_prefix,
            "SHARDS": str(settings.shards),
            "QUEUE_RATE_LIMIT_MAX": "1000000",
            "QUEUE_CONCURRENCY": "32",
            "RETRY_BASE_MS": "10",
            "MOCK_QUOTE_LATENCY_MS": "0",
            "LOG_FORMAT": "text",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            **FAST,
            **env,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "service", "worker", *args],
            env=full,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc, log

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait()


def test_worker_resumed_after_sigstop_never_writes(
    make_settings: Any, redis_client: redis.Redis, spawn: Any
) -> None:
    settings = make_settings(SHARDS="2", **FAST)
    a, a_log = spawn(settings, "a", "--index", "0", "--count", "1", MOCK_SWAP_LATENCY_MS="1500")
    wait_for(lambda: all(owners(settings, redis_client).values()), 20, "A to take the shards")
    ids = post_orders(settings, 6)

    def submitted() -> bool:
        with psycopg.connect(settings.database_url) as conn:
            n = conn.execute(
                "SELECT count(*) FROM orders WHERE id = ANY(%s::uuid[]) AND status = 'submitted'",
                (ids,),
            ).fetchone()[0]
        return n == len(ids)

    wait_for(submitted, 20, "every order submitted by A")
    a_epochs = pg_epochs(settings)
    os.kill(a.pid, signal.SIGSTOP)  # mid-attempt: its swaps land after it resumes
    b, _ = spawn(settings, "b", "--slot", "0", MOCK_SWAP_LATENCY_MS="0")
    wait_for(lambda: final_count(settings, ids) == len(ids), 30, "B to finish the orders")
    assert all(e > a_epochs[s] for s, e in pg_epochs(settings).items())
    os.kill(a.pid, signal.SIGCONT)
    wait_for(lambda: "lost" in a_log.read_text(), 20, "A to find its shards lost")
    time.sleep(2.0)  # A's swaps land now: it would write them now
    with psycopg.connect(settings.database_url) as conn:
        for oid in ids:
            status, filled, amount, attempts = conn.execute(
                "SELECT status, filled, amount, attempts FROM orders WHERE id = %s", (oid,)
            ).fetchone()
            landed = conn.execute(
                "SELECT attempt FROM attempts WHERE order_id = %s AND status = 'landed'", (oid,)
            ).fetchall()
            fills = conn.execute(
                "SELECT DISTINCT attempt, sum(amount) OVER () FROM fills WHERE order_id = %s",
                (oid,),
            ).fetchall()
            seqs = [
                r[0]
                for r in conn.execute(
                    "SELECT seq FROM order_events WHERE order_id = %s ORDER BY seq", (oid,)
                )
            ]
            # A's attempt 1 was closed not_landed by B, which landed attempt 2; A's landing
            # of attempt 1 (after SIGCONT) was never stored.
            assert (status, filled) == ("filled", amount)
            assert landed == [(2,)] and attempts == 2
            assert fills == [(2, amount)]
            assert seqs == list(range(1, len(seqs) + 1))
    b.send_signal(signal.SIGTERM)
    assert b.wait(30) == 0


def test_dead_workers_shards_are_taken_over_and_its_orders_finish(
    make_settings: Any, redis_client: redis.Redis, spawn: Any
) -> None:
    settings = make_settings(SHARDS="4", **FAST)
    a, _ = spawn(settings, "a", "--slot", "0", MOCK_SWAP_LATENCY_MS="0")
    b, b_log = spawn(settings, "b", "--slot", "1", MOCK_SWAP_LATENCY_MS="0")

    def shared() -> bool:
        held = list(owners(settings, redis_client).values())
        return None not in held and len(set(held)) == 2 and held.count(held[0]) == 2

    wait_for(shared, 20, "A and B to hold two shards each")
    a_owner = next(o for o in owners(settings, redis_client).values() if f"-{a.pid}-" in str(o))
    a.kill()  # kill -9
    a.wait()
    killed = time.monotonic()
    ids = post_orders(settings, 8)
    wait_for(
        lambda: (
            set(owners(settings, redis_client).values()) - {a_owner, None}
            and None not in owners(settings, redis_client).values()
            and a_owner not in owners(settings, redis_client).values()
        ),
        int(settings.lease_ttl_ms / 1000) + 20,
        "B to own every shard",
    )
    took = time.monotonic() - killed
    print(f"takeover {took:.2f}s after kill -9 (ttl {settings.lease_ttl_ms} ms)")
    wait_for(lambda: final_count(settings, ids) == len(ids), 30, "B to execute the orders")
    b.send_signal(signal.SIGTERM)
    assert b.wait(30) == 0, b_log.read_text()[-2000:]


def test_health_is_degraded_naming_the_shards_no_worker_holds(settings: Settings) -> None:
    from falcon import testing

    from service.api.app import create_app

    client = testing.TestClient(create_app(settings))
    before = client.simulate_get("/health")
    assert before.status_code == 200 and before.json["status"] == "degraded"
    assert before.json["unownedShards"] == list(range(settings.shards))

    async def main() -> Any:
        worker = Worker(settings, 0, 1)
        task = asyncio.create_task(worker.run())
        await until(lambda: len(worker.shards) == settings.shards, 15, "every shard taken")
        during = client.simulate_get("/health")
        worker.stop()
        await asyncio.wait_for(task, 30)
        return during

    during = asyncio.run(main())
    assert during.json["status"] == "ok" and "unownedShards" not in during.json
