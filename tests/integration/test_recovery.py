"""Taking over orders a dead worker left mid-execution, a commit whose answer was lost,
duplicate stream entries and a dead consumer's entries: each order still executes once; a
final error fails an order at once (the real PostgreSQL and Redis).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
import pytest
import redis

from service.config import Settings
from service.domain.markets import shard_of
from service.simulator.chain import tx_signature
from service.worker.worker import Worker
from service.worker.writer import EventWriter
from tests.helpers.worker import (
    attempts_of,
    events_of,
    leave_mid_execution,
    post_orders,
    run_worker_until_final,
)

pytestmark = pytest.mark.integration


def test_takeover_closes_a_submitted_attempt_as_not_landed_and_retries_once(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    settings = make_settings(MAX_ATTEMPTS="3")
    submitted, routing, building, exhausted = post_orders(settings, 4)
    for s in range(settings.shards):  # the dead worker had read them all
        redis_client.delete(settings.stream_key(s))
    leave_mid_execution(settings, submitted, ["routing", "building", "submitted"], 1)
    leave_mid_execution(settings, routing, ["routing"], 1)
    leave_mid_execution(settings, building, ["routing", "building"], 1)
    leave_mid_execution(
        settings, exhausted, ["routing", "building", "submitted"] * 3, 3
    )  # its last attempt was in doubt
    run_worker_until_final(settings, [submitted, routing, building, exhausted])

    # in doubt: closed as not landed (never submitted again), a new attempt lands
    evs = events_of(settings, submitted)
    assert [e[1] for e in evs] == [
        "pending", "routing", "building", "submitted",
        "routing", "building", "submitted", "confirmed", "filled",
    ]  # fmt: skip
    assert evs[4][2]["attempts"] == 2 and evs[4][2]["lastError"] == "not_landed"
    rows = attempts_of(settings, submitted)
    assert [(a, s, e) for a, s, e, _ in rows] == [(1, "failed", "not_landed"), (2, "landed", None)]
    assert rows[0][3] == tx_signature(submitted, 1) != rows[1][3]

    # never submitted: the same attempt routes again
    for oid, before in ((routing, ["routing"]), (building, ["routing", "building"])):
        evs = events_of(settings, oid)
        assert [e[1] for e in evs] == ["pending", *before, *SIX_AFTER_PENDING]
        assert [e[0] for e in evs] == list(range(1, len(evs) + 1))
        assert all(e[2]["attempts"] == 1 for e in evs[1:])
        assert [(a, s) for a, s, _, _ in attempts_of(settings, oid)] == [(1, "landed")]

    # the in-doubt attempt was the last one allowed: failed, not submitted again
    evs = events_of(settings, exhausted)
    assert evs[-1][1] == "failed" and evs[-1][2]["failureReason"] == "not_landed"
    assert [(a, s) for a, s, _, _ in attempts_of(settings, exhausted)] == [(3, "failed")]


SIX_AFTER_PENDING = ["routing", "building", "submitted", "confirmed", "filled"]


def test_commit_stored_but_answer_lost_is_not_written_twice(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection breaks after COMMIT reached PostgreSQL: the retry finds the batch
    stored and does not write it again (which would stop the worker on a duplicate seq)."""
    real = EventWriter._commit
    broken = {"left": 1}  # the first batch (with no latency, one batch may hold it all)

    async def commit_then_break(self: EventWriter, batch: Any, *args: Any) -> list[int]:
        ids = await real(self, batch, *args)
        if batch and broken["left"]:
            broken["left"] -= 1
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return ids

    monkeypatch.setattr(EventWriter, "_commit", commit_then_break)
    ids = post_orders(settings, 6)
    run_worker_until_final(settings, ids)
    assert broken["left"] == 0
    for oid in ids:
        evs = events_of(settings, oid)
        assert [e[1] for e in evs] == ["pending", *SIX_AFTER_PENDING]
        assert [(a, s) for a, s, _, _ in attempts_of(settings, oid)] == [(1, "landed")]


def test_stale_duplicate_entry_of_an_order_done_here_is_acked_not_executed(
    settings: Settings, redis_client: redis.Redis
) -> None:
    """A duplicate entry (the sweeper's, a redelivery) of an order this worker already
    finished is answered from what the worker knows, not from a row that may predate its
    last changes: here the row is made to look `pending` again, and nothing happens."""
    [oid] = post_orders(settings, 1)

    async def main() -> None:
        worker = Worker(settings, 0, 1)
        task = asyncio.create_task(worker.run())
        async with await psycopg.AsyncConnection.connect(
            settings.database_url, autocommit=True
        ) as conn:
            deadline = time.monotonic() + 20
            while True:
                cur = await conn.execute("SELECT status FROM orders WHERE id = %s", (oid,))
                row = await cur.fetchone()
                if row and row[0] == "filled":
                    break
                assert time.monotonic() < deadline and not task.done()
                await asyncio.sleep(0.02)
            await conn.execute(
                "UPDATE orders SET status = 'pending', seq = 1 WHERE id = %s", (oid,)
            )
            stream = settings.stream_key(shard_of("SOL/USDC", settings.shards))
            r = redis.Redis.from_url(settings.redis_url)
            r.xadd(stream, {"id": oid, "symbol": "SOL/USDC"})
            r.close()
            await asyncio.sleep(0.5)
        worker.stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(main())
    assert [e[1] for e in events_of(settings, oid)] == ["pending", *SIX_AFTER_PENDING]
    pending = sum(
        redis_client.xpending(settings.stream_key(s), settings.group)["pending"]
        for s in range(settings.shards)
    )
    assert pending == 0


def test_entries_of_a_dead_consumer_are_claimed_and_executed_once(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    settings = make_settings(CLAIM_IDLE_MS="200")
    ids = post_orders(settings, 5)
    # A consumer that read them and died (another worker count, another machine).
    for s in range(settings.shards):
        stream = settings.stream_key(s)
        if redis_client.exists(stream):
            with_group = redis_client.xinfo_groups(stream)
            if not with_group:
                redis_client.xgroup_create(stream, settings.group, id="0")
            redis_client.xreadgroup(settings.group, "worker-9", {stream: ">"})
    dead = sum(
        redis_client.xpending(settings.stream_key(s), settings.group)["pending"]
        for s in range(settings.shards)
        if redis_client.exists(settings.stream_key(s))
    )
    assert dead == 5
    run_worker_until_final(settings, ids)
    for oid in ids:
        assert [e[1] for e in events_of(settings, oid)] == ["pending", *SIX_AFTER_PENDING]
    pending = sum(
        redis_client.xpending(settings.stream_key(s), settings.group)["pending"]
        for s in range(settings.shards)
        if redis_client.exists(settings.stream_key(s))
    )
    assert pending == 0


def test_final_errors_fail_at_once_with_their_reason(settings: Settings) -> None:
    """invalid_order (a swap that would move nothing of a token) is final: no retry."""
    [dust] = post_orders(settings, 1, symbol="BONK/SOL", side="sell", amount="0.0001")
    run_worker_until_final(settings, [dust])
    evs = events_of(settings, dust)
    assert [e[1] for e in evs] == ["pending", "routing", "failed"]
    assert evs[-1][2]["failureReason"] == "invalid_order" and evs[-1][2]["attempts"] == 1
    with psycopg.connect(settings.database_url) as conn:
        fills = conn.execute("SELECT count(*) FROM fills WHERE order_id = %s", (dust,)).fetchone()
        row = conn.execute(
            "SELECT status, failure_reason, filled FROM orders WHERE id = %s", (dust,)
        ).fetchone()
    assert row == ("failed", "invalid_order", 0) and fills == (0,)
