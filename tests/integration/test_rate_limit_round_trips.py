"""A request's source budget and its client's are taken in one round trip to Redis, all or
nothing; a request answered before its client is known still costs its source a slot (on
the real PostgreSQL and Redis)."""

from __future__ import annotations

from typing import Any

import pytest
from falcon import testing

from service.api.app import create_app
from service.api.client_rate_limit import RateLimiter

pytestmark = pytest.mark.integration

KEY = "alice-key-0123456789abcdef"


def body(client: str) -> dict[str, Any]:
    return {"clientId": client, "symbol": "SOL/USDC", "side": "buy", "amount": "0.5"}


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The buckets of each call to Redis the rate limit makes."""
    calls: list[list[str]] = []
    take = RateLimiter.take

    def counted(self: RateLimiter, buckets: Any) -> Any:
        calls.append([bucket for _, bucket, _ in buckets])
        return take(self, buckets)

    monkeypatch.setattr(RateLimiter, "take", counted)
    return calls


def test_one_round_trip_for_the_source_and_the_client(
    make_settings: Any, round_trips: list[list[str]]
) -> None:
    client = testing.TestClient(create_app(make_settings()))
    assert client.simulate_post("/orders", json=body("c1")).status_code == 201
    assert client.simulate_get("/orders", params={"clientId": "c1"}).status_code == 200
    assert round_trips == [["source", "write"], ["source", "read"]]
    round_trips.clear()
    keyed = testing.TestClient(create_app(make_settings(API_KEYS=f"{KEY}=alice")))
    r = keyed.simulate_post("/orders", json=body("alice"), headers={"X-API-Key": KEY})
    assert r.status_code == 201, r.text
    assert round_trips == [["source", "write"]]


def test_a_client_over_its_limit_costs_its_source_nothing(make_settings: Any) -> None:
    settings = make_settings(RATE_LIMIT_PER_MIN="2", RATE_LIMIT_PER_SOURCE_PER_MIN="3")
    client = testing.TestClient(create_app(settings))
    codes = [client.simulate_post("/orders", json=body("c1")).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    # the third took no slot of the source's three: one is left, then none
    assert client.simulate_post("/orders", json=body("c2")).status_code == 201
    refused = client.simulate_post("/orders", json=body("c3"))
    assert refused.status_code == 429
    assert "from this address" in refused.json["error"]["message"]


def test_a_request_answered_before_its_client_is_known_costs_its_source_a_slot(
    make_settings: Any,
) -> None:
    keyed = testing.TestClient(
        create_app(make_settings(RATE_LIMIT_PER_SOURCE_PER_MIN="2", API_KEYS=f"{KEY}=alice"))
    )
    assert keyed.simulate_get("/orders").status_code == 401  # no key: no client
    assert keyed.simulate_get("/orders", headers={"X-API-Key": KEY}).status_code == 200
    assert keyed.simulate_get("/orders", headers={"X-API-Key": KEY}).status_code == 429


def test_an_open_order_body_refused_before_its_client_id_costs_its_source_a_slot(
    make_settings: Any,
) -> None:
    client = testing.TestClient(create_app(make_settings(RATE_LIMIT_PER_SOURCE_PER_MIN="3")))
    json_type = {"Content-Type": "application/json"}
    for _ in range(2):  # not JSON: refused before its clientId is read
        assert client.simulate_post("/orders", body="{", headers=json_type).status_code == 400
    assert client.simulate_post("/orders", json=body("c1")).status_code == 201
    refused = client.simulate_post("/orders", json=body("c2"))
    assert refused.status_code == 429
    assert "from this address" in refused.json["error"]["message"]
