"""Limits that hold without keys (per source address, X-Forwarded-For only from TRUSTED_PROXIES),
wrong keys rate limited, and 500s without the worker's exception text."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from falcon import testing

from service.api.app import create_app
from service.api.market_commands import raise_for_reply
from service.errors import ApiError

pytestmark = pytest.mark.integration

KEY = "alice-key-0123456789abcdef"


def body(client: str) -> dict[str, Any]:
    return {"clientId": client, "symbol": "SOL/USDC", "side": "buy", "amount": "0.5"}


def test_source_limit_holds_when_the_client_id_changes(make_settings: Any) -> None:
    client = testing.TestClient(create_app(make_settings(RATE_LIMIT_PER_SOURCE_PER_MIN="6")))
    codes = []
    for i in range(9):
        kind = i % 3
        if kind == 0:
            r = client.simulate_post("/orders", json=body(f"c{i}"))
        elif kind == 1:
            r = client.simulate_get("/orders", params={"clientId": f"c{i}"})
        else:
            r = client.simulate_delete(f"/orders/{uuid.uuid4()}")
        codes.append(r.status_code)
    assert codes[:6].count(429) == 0 and codes[6:] == [429, 429, 429], codes
    assert int(r.headers["Retry-After"]) >= 1
    # another address has its own budget; /health is never limited
    assert client.simulate_get("/orders", remote_addr="10.1.1.1").status_code == 200
    assert client.simulate_get("/health").status_code != 429


def test_forwarded_for_counts_only_from_a_trusted_proxy(make_settings: Any) -> None:
    settings = make_settings(RATE_LIMIT_PER_SOURCE_PER_MIN="2", TRUSTED_PROXIES="10.0.0.0/8")
    client = testing.TestClient(create_app(settings))
    # from the proxy: each forwarded address has its own budget
    for n in range(4):
        r = client.simulate_get(
            "/orders", remote_addr="10.0.0.5", headers={"X-Forwarded-For": f"1.2.3.{n}"}
        )
        assert r.status_code == 200, r.text
    # from anyone else the header is ignored: the peer's own budget runs out
    codes = [
        client.simulate_get(
            "/orders", remote_addr="192.0.2.7", headers={"X-Forwarded-For": f"1.2.4.{n}"}
        ).status_code
        for n in range(4)
    ]
    assert codes == [200, 200, 429, 429]


def test_wrong_keys_are_rate_limited_per_source(make_settings: Any) -> None:
    client = testing.TestClient(create_app(make_settings(API_KEYS=f"{KEY}=alice")))
    codes = [
        client.simulate_get("/orders", headers={"X-API-Key": f"guess-{i:020d}"}).status_code
        for i in range(35)
    ]
    assert codes[:30] == [401] * 30 and codes[30:] == [429] * 5
    assert client.simulate_get("/orders", headers={"X-API-Key": KEY}).status_code == 200


def test_a_workers_500_carries_no_exception_text() -> None:
    with pytest.raises(ApiError) as e:
        raise_for_reply({"status": 500, "code": "internal_error", "message": "KeyError: 'x'"})
    assert e.value.status == 500 and "KeyError" not in e.value.message
