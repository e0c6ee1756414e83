"""An execution that crashes after its order's `open` was stored: the order goes back into
its book from PostgreSQL (no stream entry would bring it back: it was acknowledged with
`open`), so it fills and cancels as any resting order."""

from __future__ import annotations

import time
from typing import Any

import pytest
from falcon import testing

from service.api.app import create_app
from service.config import Settings
from service.worker.market_state import MarketState
from tests.helpers.worker import events_of, worker_running

pytestmark = pytest.mark.integration


def test_a_resting_order_whose_execution_crashed_is_back_in_its_book_and_cancels(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_rest = MarketState.rest
    crashed: list[str] = []

    def rest_crashing_once(self: MarketState, order: Any, seq: int = -1) -> None:
        if not crashed:
            crashed.append(order.id)
            raise RuntimeError("injected: the execution crashes after `open` was stored")
        real_rest(self, order, seq)

    monkeypatch.setattr(MarketState, "rest", rest_crashing_once)
    client = testing.TestClient(create_app(settings))
    body = {"clientId": "c1", "symbol": "SOL/USDC", "side": "buy", "amount": "0.1",
            "type": "limit", "limitPrice": "1", "timeInForce": "GTC"}  # fmt: skip
    with worker_running(settings) as worker:
        r = client.simulate_post("/orders", json=body)
        assert r.status_code == 201, r.text
        oid = r.json["id"]
        deadline = time.monotonic() + 20
        while oid not in worker.state.by_id:  # crashed once, then back in the book
            assert time.monotonic() < deadline, "the crashed order never came back"
            time.sleep(0.02)
        assert crashed == [oid]
        r = client.simulate_delete(f"/orders/{oid}")
        assert r.status_code == 200, r.text
        assert r.json["status"] == "canceled"
    assert [e[1] for e in events_of(settings, oid)] == ["pending", "open", "canceled"]
