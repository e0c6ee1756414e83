"""Orders posted through the app, a worker run in-process until they are final, and their
stored events."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
from falcon import testing

from engine_core import fsm
from service.api.app import create_app
from service.config import Settings
from service.worker.worker import Worker


def post_orders(settings: Settings, n: int, **over: Any) -> list[str]:
    client = testing.TestClient(create_app(settings))
    ids = []
    for i in range(n):
        body = {
            "clientId": f"c{i % 3}",
            "symbol": "SOL/USDC",
            "side": "buy" if i % 2 else "sell",
            "amount": "0.25",
            **over,
        }
        r = client.simulate_post("/orders", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json["id"])
    return ids


def run_worker_until_final(settings: Settings, ids: list[str], timeout: float = 30) -> None:
    async def main() -> None:
        worker = Worker(settings, 0, 1)
        task = asyncio.create_task(worker.run())
        deadline = time.monotonic() + timeout
        async with await psycopg.AsyncConnection.connect(
            settings.database_url, autocommit=True
        ) as conn:
            while time.monotonic() < deadline:
                cur = await conn.execute(
                    "SELECT count(*) FROM orders WHERE id = ANY(%s::uuid[]) AND status = ANY(%s)",
                    (ids, sorted(fsm.TERMINAL)),
                )
                if (await cur.fetchone())[0] == len(ids):
                    break
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        worker.stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(main())


def events_of(settings: Settings, oid: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(
            "SELECT seq, status, payload, ts FROM order_events WHERE order_id = %s ORDER BY seq",
            (oid,),
        ).fetchall()
