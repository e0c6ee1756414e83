"""Resting orders survive a worker restart, and a cancel racing a fill ends one way."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from falcon import testing

from service.api.app import create_app
from service.config import Settings
from service.runtime.cli import cmd_migrate
from service.worker.worker import Worker
from tests.helpers.waiting import wait_status

pytestmark = pytest.mark.integration


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


def order_row(settings: Settings, oid: str) -> tuple[Any, ...]:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(
            "SELECT status, filled, amount FROM orders WHERE id = %s", (oid,)
        ).fetchone()
    assert row is not None
    return row


def stored_status(settings: Settings, oid: str, wanted: set[str]) -> str:
    """Wait until the stored order's status is one of `wanted`."""

    def read() -> tuple[str, str]:
        status = str(order_row(settings, oid)[0])
        return status, status

    return wait_status(read, wanted, every=0.02)


@pytest.fixture
def sim_settings(make_settings: Any) -> Settings:
    settings = make_settings(SIM_TICK_MS="0")
    cmd_migrate(settings)
    return settings


def test_resting_order_rebuilt_after_restart_then_fills_on_price_move(
    sim_settings: Settings,
) -> None:
    client = testing.TestClient(create_app(sim_settings))
    body = {
        "clientId": "rest",
        "symbol": "SOL/USDC",
        "side": "buy",
        "amount": "1",
        "type": "limit",
        "limitPrice": "140",
    }
    with worker_running(sim_settings):
        oid = client.simulate_post("/orders", json=body).json["id"]
        assert stored_status(sim_settings, oid, {"open"}) == "open"
    # A new worker process: the book comes back from PostgreSQL.
    with worker_running(sim_settings):
        r = client.simulate_post("/sim/price", json={"symbol": "SOL/USDC", "price": "138"})
        assert r.status_code == 200, r.text
        assert stored_status(sim_settings, oid, {"filled"}) == "filled"
    events = client.simulate_get(f"/orders/{oid}/events").json["events"]
    assert [e["status"] for e in events] == [
        "pending",
        "open",
        "routing",
        "building",
        "submitted",
        "confirmed",
        "filled",
    ]


def test_cancel_racing_fill_ends_canceled_without_later_fill_or_filled(
    sim_settings: Settings,
) -> None:
    client = testing.TestClient(create_app(sim_settings))
    outcomes = set()
    with worker_running(sim_settings), ThreadPoolExecutor(2) as pool:
        for i in range(6):
            price = "150" if i % 2 == 0 else "149"
            client.simulate_post("/sim/price", json={"symbol": "SOL/USDC", "price": price})
            oid = client.simulate_post(
                "/orders",
                json={
                    "clientId": f"race{i}",
                    "symbol": "SOL/USDC",
                    "side": "buy",
                    "amount": "0.5",
                    "type": "limit",
                    "limitPrice": "145",
                },
            ).json["id"]
            stored_status(sim_settings, oid, {"open"})
            move = pool.submit(
                client.simulate_post, "/sim/price", json={"symbol": "SOL/USDC", "price": "140"}
            )
            cancel = pool.submit(client.simulate_delete, f"/orders/{oid}")
            move.result()
            code = cancel.result().status_code
            final = stored_status(sim_settings, oid, {"canceled", "filled"})
            outcomes.add(final)
            assert (code, final) in ((200, "canceled"), (409, "filled"))
            with psycopg.connect(sim_settings.database_url) as conn:
                events = conn.execute(
                    "SELECT status, ts FROM order_events WHERE order_id = %s ORDER BY seq", (oid,)
                ).fetchall()
                fills = conn.execute("SELECT ts FROM fills WHERE order_id = %s", (oid,)).fetchall()
            assert events[-1][0] == final
            assert sum(1 for s, _ in events if s in ("canceled", "filled")) == 1
            if final == "canceled":
                assert all(f[0] <= events[-1][1] for f in fills)
    assert outcomes  # at least one outcome observed each run
