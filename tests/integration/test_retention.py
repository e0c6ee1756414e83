"""Stream retention and backpressure on the real PostgreSQL and Redis: acknowledged entries are
trimmed (a margin kept, nothing still pending or undelivered dropped), and the API refuses new
orders with 503 and Retry-After while a shard is too far behind, storing nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import psycopg
import pytest
import redis
from falcon import testing

from service.api.app import create_app
from service.config import Settings
from service.worker.worker import Worker
from tests.helpers.streams import pending_count, post_order, run_worker, status_of, stream_of

pytestmark = pytest.mark.integration


def final_count(settings: Settings, ids: list[str]) -> int:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM orders WHERE id = ANY(%s::uuid[]) AND status = 'filled'", (ids,)
        ).fetchone()
        return int(row[0]) if row else 0


def run_then(settings: Settings, ids: list[str], then: Callable[[Worker], object]) -> object:
    """Run a worker until these orders are filled and acknowledged, then await `then(worker)`
    inside it and stop it."""

    async def main() -> object:
        worker = Worker(settings, 0, 1)
        task = asyncio.create_task(worker.run())
        r = redis.Redis.from_url(settings.redis_url)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if task.done():
                task.result()
            done = await asyncio.to_thread(final_count, settings, ids) == len(ids)
            if done and pending_count(settings, r) <= 1:  # the held entry only
                break
            await asyncio.sleep(0.05)
        r.close()
        out = await then(worker)  # type: ignore[misc]
        worker.stop()
        await asyncio.wait_for(task, 30)
        return out

    return asyncio.run(main())


def test_trim_keeps_margin_below_oldest_pending_and_everything_after_it(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    settings = make_settings(STREAM_KEEP="5", SIM_TICK_MS="0")
    client = testing.TestClient(create_app(settings))
    stream = stream_of(settings)
    redis_client.xgroup_create(stream, settings.group, id="0", mkstream=True)
    early = [post_order(client) for _ in range(10)]
    run_then(settings, early, lambda w: asyncio.sleep(0))
    # An entry taken by a consumer that never acknowledges it (not idle long enough to claim).
    held = redis_client.xadd(stream, {"hold": "1"}).decode()
    redis_client.xreadgroup(settings.group, "ghost", {stream: ">"}, count=1)
    late = [post_order(client, side="sell") for _ in range(20)]

    run_then(settings, late, lambda w: w.housekeeping.trim_once())  # also trimmed every 5 s

    ids = [e.decode() for e, _ in redis_client.xrange(stream)]
    assert len(ids) == 5 + 1 + 20
    assert held in ids and ids.index(held) == 5
    assert pending_count(settings, redis_client) == 1  # the held one, never dropped


def test_backlog_over_bound_503_retry_after_nothing_stored_then_201_once_drained(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    roomy = make_settings(SIM_TICK_MS="0")
    tight = make_settings(STREAM_BACKLOG_MAX="3", SIM_TICK_MS="0")
    stream = stream_of(roomy)
    redis_client.xgroup_create(stream, roomy.group, id="0", mkstream=True)
    queued = [post_order(testing.TestClient(create_app(roomy))) for _ in range(3)]

    refused = testing.TestClient(create_app(tight)).simulate_post(
        "/orders", json={"clientId": "c1", "symbol": "SOL/USDC", "side": "buy", "amount": "0.25"}
    )

    order = {"clientId": "c1", "symbol": "SOL/USDC", "side": "buy", "amount": "0.25"}
    batch = testing.TestClient(create_app(tight)).simulate_post(
        "/orders/batch", json={"orders": [order, {**order, "side": "sell"}]}
    )

    assert refused.status_code == 503 == batch.status_code
    assert refused.headers["Retry-After"] == "2" == batch.headers["Retry-After"]
    assert refused.json["error"]["code"] == "backlog_full" == batch.json["error"]["code"]
    with psycopg.connect(roomy.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM orders").fetchone()
    assert row is not None and row[0] == 3
    assert redis_client.xlen(stream) == 3
    run_then(roomy, queued, lambda w: asyncio.sleep(0))
    post_order(testing.TestClient(create_app(tight)))


def test_cancel_unanswered_in_time_202_then_applied_later_as_an_event(
    make_settings: Callable[..., Settings], redis_client: redis.Redis
) -> None:
    settings = make_settings(CANCEL_WAIT_MS="200", SIM_TICK_MS="0")
    client = testing.TestClient(create_app(settings))
    redis_client.xgroup_create(stream_of(settings), settings.group, id="0", mkstream=True)
    oid = post_order(client, type="limit", limitPrice="100")  # rests, far below the market

    r = client.simulate_delete(f"/orders/{oid}")  # no worker is running: nobody answers

    assert r.status_code == 202, r.text
    assert r.json["id"] == oid and r.json["status"] == "pending"
    run_worker(settings, lambda: status_of(settings, oid)[0] == "canceled")
    events = client.simulate_get(f"/orders/{oid}/events").json["events"]
    assert [e["status"] for e in events][-1] == "canceled"
    assert client.simulate_get(f"/orders/{oid}").json["status"] == "canceled"
