"""Orders posted through the app, a worker run in-process until they are final, their
stored events and attempts, and orders stored as a worker killed mid-execution left them."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
from falcon import testing
from psycopg.types.json import Jsonb

from engine_core import fsm
from service.api.app import create_app
from service.config import Settings
from service.simulator.chain import tx_signature
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


@contextlib.contextmanager
def worker_running(settings: Settings) -> Iterator[Worker]:
    """The worker in its own thread and event loop, as in its own process."""
    worker = Worker(settings, 0, 1)
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    error: list[BaseException] = []

    def main() -> None:
        asyncio.set_event_loop(loop)

        async def go() -> None:
            ready.set()
            await worker.run()

        try:
            loop.run_until_complete(go())
        except BaseException as e:  # noqa: BLE001 - reported to the test
            error.append(e)

    t = threading.Thread(target=main, daemon=True)
    t.start()
    ready.wait(5)
    try:
        yield worker
    finally:
        loop.call_soon_threadsafe(worker.stop)
        t.join(30)
        assert not error, error


SIX = ["pending", "routing", "building", "submitted", "confirmed", "filled"]


def leave_mid_execution(settings: Settings, oid: str, statuses: list[str], attempts: int) -> None:
    """Store the order as a worker killed after these events would have left it: the events
    after `pending`, the order row at the last one, and its attempt `submitted` if it was."""
    now = datetime.now(UTC)
    with psycopg.connect(settings.database_url) as conn:
        for i, status in enumerate(statuses, start=2):
            conn.execute(
                "INSERT INTO order_events (order_id, client_id, seq, status, ts, payload)"
                " SELECT id, client_id, %s, %s, %s, %s FROM orders WHERE id = %s",
                (i, status, now, Jsonb({"attempts": attempts}), oid),
            )
        conn.execute(
            "UPDATE orders SET status = %s, seq = %s, attempts = %s WHERE id = %s",
            (statuses[-1], len(statuses) + 1, attempts, oid),
        )
        if statuses[-1] == "submitted":
            conn.execute(
                "INSERT INTO attempts (order_id, attempt, tx_hash, status)"
                " VALUES (%s, %s, %s, 'submitted')",
                (oid, attempts, tx_signature(oid, attempts)),
            )


def attempts_of(settings: Settings, oid: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(
            "SELECT attempt, status, error, tx_hash FROM attempts WHERE order_id = %s"
            " ORDER BY attempt",
            (oid,),
        ).fetchall()
