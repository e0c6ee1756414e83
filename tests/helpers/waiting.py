"""Wait until an order reaches one of some statuses (by default a terminal one): the one
polling loop of the tests, over whatever reads the order's status."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from engine_core import fsm
from tests.helpers.engine import Engine

T = TypeVar("T")


def wait_status(
    read: Callable[[], tuple[str, T]],
    wanted: Collection[str] = fsm.TERMINAL,
    timeout: float = 20,
    every: float = 0.05,
    what: str = "the order",
) -> T:
    """Call `read()` (-> (status, value)) until the status is in `wanted`; return that value.
    Fails with the status it was stuck in after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        status, value = read()
        if status in wanted:
            return value
        assert time.monotonic() < deadline, f"{what} stuck in {status} after {timeout}s"
        time.sleep(every)


def wait_order(
    engine: Engine, order_id: str, wanted: Collection[str] = fsm.TERMINAL, timeout: float = 20
) -> dict[str, Any]:
    """GET /orders/{id} on a running engine until its status is in `wanted` (each answer a
    200); the order's JSON."""

    def read() -> tuple[str, dict[str, Any]]:
        code, order, _ = engine.request("GET", f"/orders/{order_id}")
        assert code == 200, order
        return order["status"], order

    return wait_status(read, wanted, timeout, what=f"order {order_id}")
