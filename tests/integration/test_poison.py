"""Poison stream entries on the real PostgreSQL and Redis: garbage, truncated entries, an entry
for an order that does not exist, a /sim/price the database cannot store, an entry delivered
too often. Each is dead-lettered with its error and acknowledged, the order it names ends with
the reason, and the worker goes on with the next good order, also after a restart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import orjson
import psycopg
import pytest
import redis
from falcon import testing

from service.api.app import create_app
from service.config import Settings
from service.domain.markets import shard_of
from service.worker.worker import Worker
from tests.helpers.streams import SOL, pending_count, post_order, run_worker, status_of, stream_of

pytestmark = pytest.mark.integration


def dead_of(settings: Settings, symbol: str = SOL) -> list[dict[bytes, bytes]]:
    r = redis.Redis.from_url(settings.redis_url)
    try:
        return [f for _, f in r.xrange(settings.dead_letter_key(shard_of(symbol, settings.shards)))]
    finally:
        r.close()


def test_garbage_truncated_and_unknown_entries_dead_lettered_acked_next_order_fills(
    settings: Settings, redis_client: redis.Redis
) -> None:
    client = testing.TestClient(create_app(settings))
    stream = stream_of(settings)
    redis_client.xgroup_create(stream, settings.group, id="0", mkstream=True)
    unknown = str(uuid.uuid4())
    redis_client.xadd(stream, {b"\xff\xfe": b"\x00garbage"})
    redis_client.xadd(stream, {"id": "6f1c2a", "symbol": SOL})  # truncated id
    redis_client.xadd(stream, {"id": unknown, "symbol": SOL})
    redis_client.xadd(stream, {"cmd": "sim_price", "args": b'{"symbol": "SOL/'})  # truncated
    redis_client.xadd(stream, {"cmd": b"\xff", "args": b"{}"})
    redis_client.xadd(stream, {"cmd": "cancel", "args": b'["not", "an", "object"]'})
    redis_client.xadd(stream, {"cmd": "sim_price", "args": b'{"symbol": "NOPE/X", "price": 1}'})
    good = post_order(client)

    worker = run_worker(settings, lambda: status_of(settings, good)[0] == "filled")

    assert status_of(settings, good)[0] == "filled"
    dead = dead_of(settings)
    assert len(dead) == 7 == worker.dead.buried
    kinds = sorted(d[b"kind"].decode() for d in dead)
    assert kinds == ["command"] * 4 + ["malformed"] * 2 + ["unknown_order"]
    assert all(d[b"error"] and d[b"deliveries"] == b"1" for d in dead)
    assert any(d.get(b"f:id") == unknown.encode() for d in dead)
    assert pending_count(settings, redis_client) == 0


def test_sim_price_postgres_cannot_store_refused_400_worker_keeps_trading(
    settings: Settings, redis_client: redis.Redis
) -> None:
    client = testing.TestClient(create_app(settings))
    stream = stream_of(settings)
    redis_client.xgroup_create(stream, settings.group, id="0", mkstream=True)
    replies = [settings.key("reply", uuid.uuid4().hex) for _ in range(3)]
    for reply, price in zip(replies, ("1e200000", "1e30", "-5"), strict=True):
        args = orjson.dumps({"symbol": SOL, "price": price})
        redis_client.xadd(stream, {"cmd": "sim_price", "symbol": SOL, "reply": reply, "args": args})
    good = post_order(client)

    run_worker(settings, lambda: status_of(settings, good)[0] == "filled")

    for reply in replies:
        got = redis_client.lpop(reply)
        assert got is not None and orjson.loads(got)["status"] == 400
    assert len(dead_of(settings)) == 3
    assert pending_count(settings, redis_client) == 0
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(
            "SELECT reference_price FROM markets WHERE symbol = %s", (SOL,)
        ).fetchone()
    assert row is not None and row[0] < 10_000  # unchanged by the refused prices
    markets = client.simulate_get("/markets")
    assert markets.status_code == 200


def test_entry_delivered_too_often_dead_lettered_order_rejected_with_reason(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    # CLAIM_IDLE_MS: the dead consumer's entry is claimed at the first claim round
    settings = make_settings(MAX_DELIVERIES="3", CLAIM_IDLE_MS="100")
    client = testing.TestClient(create_app(settings))
    stream = stream_of(settings)
    redis_client.xgroup_create(stream, settings.group, id="0", mkstream=True)
    oid = post_order(client)
    # As if a worker had taken it and died on it, again and again.
    redis_client.xreadgroup(settings.group, "worker-0", {stream: ">"})
    (entry_id,) = [e for e, _ in redis_client.xrange(stream)]
    for _ in range(2):
        redis_client.xclaim(stream, settings.group, "worker-0", 0, [entry_id])
    good = post_order(client)

    run_worker(
        settings,
        lambda: (
            status_of(settings, good)[0] == "filled" and status_of(settings, oid)[0] != "pending"
        ),
    )

    status, reason = status_of(settings, oid)
    assert status == "rejected" and reason is not None and "delivered 4 times" in reason
    (dead,) = dead_of(settings)
    assert dead[b"deliveries"] == b"4" and dead[b"kind"] == b"deliveries"
    assert dead[b"f:id"] == oid.encode()
    with psycopg.connect(settings.database_url) as conn:
        (events,) = conn.execute(
            "SELECT array_agg(status ORDER BY seq) FROM order_events WHERE order_id = %s", (oid,)
        ).fetchone() or (None,)
    assert events == ["pending", "rejected"]
    assert pending_count(settings, redis_client) == 0


def test_restarted_worker_does_not_bury_again_and_takes_new_orders(
    settings: Settings, redis_client: redis.Redis
) -> None:
    client = testing.TestClient(create_app(settings))
    stream = stream_of(settings)
    redis_client.xgroup_create(stream, settings.group, id="0", mkstream=True)
    redis_client.xadd(stream, {"junk": "1"})
    args = orjson.dumps({"symbol": SOL, "price": "1e200000"})
    redis_client.xadd(stream, {"cmd": "sim_price", "symbol": SOL, "args": args})
    first = post_order(client)
    run_worker(settings, lambda: status_of(settings, first)[0] == "filled")
    assert len(dead_of(settings)) == 2

    second = post_order(client, side="sell")
    worker = run_worker(settings, lambda: status_of(settings, second)[0] == "filled")

    assert worker.dead.buried == 0
    assert len(dead_of(settings)) == 2
    assert pending_count(settings, redis_client) == 0


def test_fatal_store_error_exits_at_once_buries_the_command_restart_does_not_recrash(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    settings = make_settings(SIM_TICK_MS="0")
    client = testing.TestClient(create_app(settings))
    stream = stream_of(settings)
    redis_client.xgroup_create(stream, settings.group, id="0", mkstream=True)
    first = post_order(client)
    run_worker(settings, lambda: status_of(settings, first)[0] == "filled")
    # PostgreSQL now refuses a higher price: not an outage, a refusal.
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE markets ADD CONSTRAINT refuse_all"
            " CHECK (symbol <> 'SOL/USDC' OR reference_price <= 150)"
        )
    args = orjson.dumps({"symbol": SOL, "price": "150.5"})
    redis_client.xadd(stream, {"cmd": "sim_price", "symbol": SOL, "args": args})

    async def crash() -> BaseException:
        worker = Worker(settings, 0, 1)
        with pytest.raises(RuntimeError) as failed:
            await asyncio.wait_for(worker.run(), 20)
        return failed.value

    error = asyncio.run(crash())
    assert "CheckViolation" in repr(error.__cause__) or "refuse_all" in str(error.__cause__)
    (dead,) = dead_of(settings)
    assert dead[b"kind"] == b"fatal" and b"refuse_all" in dead[b"error"]
    assert pending_count(settings, redis_client) == 0

    second = post_order(client, side="sell")
    worker = run_worker(settings, lambda: status_of(settings, second)[0] == "filled")
    assert worker.dead.buried == 0 and len(dead_of(settings)) == 1
