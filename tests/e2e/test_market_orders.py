"""200 market orders through the real processes: HTTP in, six statuses out over WebSocket."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import pytest
from websockets.asyncio.client import connect

from tests.helpers.engine import Engine

pytestmark = pytest.mark.e2e

SIX = ["pending", "routing", "building", "submitted", "confirmed", "filled"]


async def _collect(ws, until: set[str], timeout: float = 60) -> list[dict]:
    got: list[dict] = []
    async with asyncio.timeout(timeout):
        async for raw in ws:
            msg = json.loads(raw)
            assert msg["event"] == "order:update"
            got.append(msg["payload"])
            if msg["payload"]["status"] in until:
                return got
    return got


async def _one_order(engine: Engine, i: int) -> tuple[str, list[dict]]:
    client = f"client-{i}-{uuid.uuid4().hex[:6]}"
    body = {
        "clientId": client,
        "symbol": ["SOL/USDC", "ETH/USDT", "BONK/SOL"][i % 3],
        "side": "buy" if i % 2 else "sell",
        "amount": ["0.5", "0.01", "1000000"][i % 3],
        "slippageBps": 100,
    }
    path = "/orders" if i % 4 < 2 else "/api/orders/execute"
    if i % 2 == 0:  # connects before its POST: the client's stream
        async with connect(f"{engine.ws}/ws?clientId={client}") as ws:
            status, order, _ = await asyncio.to_thread(engine.request, "POST", path, body)
            assert status == 201, order
            return order["id"], await _collect(ws, {"filled", "failed"})
    status, order, _ = await asyncio.to_thread(engine.request, "POST", path, body)
    assert status == 201, order
    async with connect(f"{engine.ws}/api/orders/execute?orderId={order['id']}") as ws:
        return order["id"], await _collect(ws, {"filled", "failed"})


def test_market_orders_each_reach_filled_with_six_statuses_in_order(engine: Engine) -> None:
    async def run() -> list[tuple[str, list[dict]]]:
        sem = asyncio.Semaphore(50)

        async def guarded(i: int) -> tuple[str, list[dict]]:
            async with sem:
                return await _one_order(engine, i)

        return await asyncio.gather(*(guarded(i) for i in range(200)))

    results = asyncio.run(run())
    assert len({oid for oid, _ in results}) == 200
    for oid, events in results:
        assert [e["status"] for e in events] == SIX, (oid, events)
        assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6]
        assert all(e["id"] == oid for e in events)
        assert events[-1]["txHash"] and events[-1]["remaining"] == "0"

    for oid, _ in results[:20]:
        status, order, _ = engine.request("GET", f"/orders/{oid}")
        assert status == 200
        assert order["status"] == "filled"
        assert order["remaining"] == "0" and order["filled"] == order["amount"]
        assert order["txHash"] and order["avgPrice"]
        assert order["fills"] and all(f["venue"] in ("raydium", "meteora") for f in order["fills"])
        assert order["seq"] == 6 and order["attempts"] == 1
        status, events, _ = engine.request("GET", f"/orders/{oid}/events")
        assert [e["status"] for e in events["events"]] == SIX

    status, text, _ = engine.request("GET", "/metrics")
    assert status == 200
    filled = sum(
        float(v)
        for v in re.findall(r'^orders_total\{[^}]*status="filled"[^}]*\} (\S+)$', text, re.M)
    )
    assert filled == 200
    assert "order_execution_duration_seconds_bucket" in text
    assert "websocket_connections_current" in text

    status, health, _ = engine.request("GET", "/health")
    assert status == 200 and health["status"] == "ok"
    assert health["postgres"] == "connected" and health["redis"] == "connected"


def test_bad_order_gets_400_naming_the_field_and_nothing_is_stored(engine: Engine) -> None:
    status, body, _ = engine.request(
        "POST", "/orders", {"clientId": "c1", "symbol": "SOL/USDC", "side": "buy", "amount": "-1"}
    )
    assert status == 400 and body["error"]["field"] == "amount"
    status, body, _ = engine.request("GET", "/orders?clientId=c1")
    assert status == 200 and body["orders"] == []
