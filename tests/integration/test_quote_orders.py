"""Quote-denominated market orders through the API and a worker on the real PostgreSQL and
Redis: `quoteAmount` is stored as the order's target (no base amount), the worker sizes the
base amount, and the fill spends at most (buy) / receives at least (sell) the target; a
wrong body is a 400 naming the field, alone or in a batch."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from falcon import testing

from service.api.app import create_app
from service.config import Settings
from service.runtime.cli import cmd_migrate
from tests.helpers.worker import worker_running

pytestmark = pytest.mark.integration

USDC = 10**6


@pytest.fixture
def still(make_settings: Any) -> Settings:
    settings = make_settings(SIM_TICK_MS="0")
    cmd_migrate(settings)
    return settings


def wait_final(client: testing.TestClient, oid: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    order: dict[str, Any] = {}
    while time.monotonic() < deadline:
        order = client.simulate_get(f"/orders/{oid}").json
        if order["status"] in ("filled", "failed", "canceled", "expired"):
            return order
        time.sleep(0.05)
    raise AssertionError(f"order {oid} not final: {order}")


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_a_quote_amount_market_order_fills_for_about_that_much_quote(
    still: Settings, side: str
) -> None:
    client = testing.TestClient(create_app(still))
    body = {"clientId": "q1", "symbol": "SOL/USDC", "side": side, "quoteAmount": "250"}
    r = client.simulate_post("/orders", json=body)
    assert r.status_code == 201, r.text
    created = r.json
    assert (created["amount"], created["remaining"], created["quoteTarget"]) == (None, None, "250")
    with psycopg.connect(still.database_url) as conn:
        stored = conn.execute(
            "SELECT amount, quote_target FROM orders WHERE id = %s", (created["id"],)
        ).fetchone()
    assert stored == (None, 250 * USDC)
    with worker_running(still):
        done = wait_final(client, created["id"])
    assert done["status"] == "filled", done
    assert done["amount"] == done["filled"] and done["remaining"] == "0"
    assert done["quoteTarget"] == "250"
    with psycopg.connect(still.database_url) as conn:
        filled, quote = conn.execute(
            "SELECT filled, quote_amount FROM orders WHERE id = %s", (created["id"],)
        ).fetchone()
        fills = conn.execute(
            "SELECT sum(amount), sum(quote_amount) FROM fills WHERE order_id = %s",
            (created["id"],),
        ).fetchone()
    assert fills == (filled, quote) and filled > 0
    # a base unit of SOL is worth ~1.5e-7 USDC units: the target is met within one unit
    if side == "buy":
        assert 250 * USDC - 1 <= quote <= 250 * USDC
    else:
        assert 250 * USDC <= quote <= 250 * USDC + 1
    # the same body again with its key: the same order
    again = {**body, "clientOrderId": "q-same"}
    first = client.simulate_post("/orders", json=again)
    second = client.simulate_post("/orders", json=again)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json["id"] == second.json["id"]
    changed = client.simulate_post("/orders", json={**again, "quoteAmount": "251"})
    assert changed.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "1", "quoteAmount": "100"}, "quoteAmount"),
        ({"quoteAmount": "100", "type": "limit", "limitPrice": "150"}, "quoteAmount"),
        ({"quoteAmount": "0.0000001"}, "quoteAmount"),
        ({}, "amount"),
    ],
)
def test_a_wrong_quote_amount_body_is_400_naming_the_field(
    still: Settings, change: dict[str, Any], field: str
) -> None:
    client = testing.TestClient(create_app(still))
    body = {"clientId": "q1", "symbol": "SOL/USDC", "side": "buy", **change}
    r = client.simulate_post("/orders", json=body)
    assert r.status_code == 400, r.text
    assert r.json["error"]["field"] == field
    assert "quoteAmount" in r.json["error"]["message"]


def test_a_batch_takes_quote_amount_orders_and_names_a_bad_one(still: Settings) -> None:
    client = testing.TestClient(create_app(still))
    good = {"clientId": "q2", "symbol": "SOL/USDC", "side": "sell", "quoteAmount": "75.5"}
    bad = {**good, "amount": "0.5"}
    r = client.simulate_post("/orders/batch", json={"orders": [good, bad]})
    assert r.status_code == 200, r.text
    ok, refused = r.json["results"]
    assert ok["status"] == 201 and ok["order"]["quoteTarget"] == "75.5"
    assert refused["status"] == 400
    assert refused["error"]["field"] == "orders[1].quoteAmount"
    with worker_running(still):
        done = wait_final(client, ok["order"]["id"])
    assert done["status"] == "filled" and done["amount"] == done["filled"]
    with psycopg.connect(still.database_url) as conn:
        quote = conn.execute(
            "SELECT quote_amount FROM orders WHERE id = %s", (ok["order"]["id"],)
        ).fetchone()[0]
    assert 75_500_000 <= quote <= 75_500_001


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_quote_with_quote_amount_shows_the_amount_a_quote_order_would_take(
    still: Settings, side: str
) -> None:
    client = testing.TestClient(create_app(still))
    r = client.simulate_get(
        "/quote", params={"symbol": "SOL/USDC", "side": side, "quoteAmount": "250"}
    )
    assert r.status_code == 200, r.text
    sized = r.json
    assert sized["quoteTarget"] == "250"
    quote = float(sized["quoteAmount"])
    assert quote <= 250 if side == "buy" else quote >= 250
    assert abs(quote - 250) < 0.01  # one unit of the base amount is worth ~0.00015 USDC
    # the same plan as asking for that base amount
    again = client.simulate_get(
        "/quote", params={"symbol": "SOL/USDC", "side": side, "amount": sized["amount"]}
    ).json
    assert again["quoteAmount"] == sized["quoteAmount"]
    r = client.simulate_get(
        "/quote",
        params={"symbol": "SOL/USDC", "side": side, "quoteAmount": "250", "amount": "1"},
    )
    assert r.status_code == 400 and r.json["error"]["field"] == "quoteAmount"
