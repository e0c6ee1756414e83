"""The market streams as the tests see them: an order posted through the app, the stream its
entry went to, and how many entries the worker group holds unacknowledged."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psycopg
import redis
from falcon import testing

from service.config import Settings
from service.domain.markets import shard_of
from service.worker.worker import Worker

SOL = "SOL/USDC"


def stream_of(settings: Settings, symbol: str = SOL) -> str:
    return settings.stream_key(shard_of(symbol, settings.shards))


def post_order(client: testing.TestClient, **over: Any) -> str:
    body = {"clientId": "c1", "symbol": SOL, "side": "buy", "amount": "0.25", **over}
    r = client.simulate_post("/orders", json=body)
    assert r.status_code == 201, r.text
    return str(r.json["id"])


def pending_count(settings: Settings, r: redis.Redis) -> int:
    info: Any = r.xpending(stream_of(settings), settings.group)
    return int(info["pending"])


def status_of(settings: Settings, oid: str) -> tuple[str, str | None]:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(
            "SELECT status, failure_reason FROM orders WHERE id = %s", (oid,)
        ).fetchone()
        assert row is not None
        return row[0], row[1]


def run_worker(settings: Settings, until: Callable[[], bool], timeout: float = 30) -> Worker:
    """Run one worker until `until()` holds (or the timeout), then stop it cleanly; a worker
    that died raises here."""

    async def main() -> Worker:
        worker = Worker(settings, 0, 1)
        task = asyncio.create_task(worker.run())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not await asyncio.to_thread(until):
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        assert not task.done(), "the worker stopped by itself"
        worker.stop()
        await asyncio.wait_for(task, 30)
        return worker

    return asyncio.run(main())
