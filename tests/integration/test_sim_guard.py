"""Market commands are an operator's and bounded: /sim/* with keys needs OPERATOR_API_KEYS,
SIM_ENABLED=0 removes them, and every value out of bounds is a 400 naming the field with
nothing sent to a worker (the stream stays empty)."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from falcon import testing

from service.api.app import create_app
from service.config import Settings
from service.runtime.cli import cmd_migrate
from tests.integration.test_book_recovery import worker_running

pytestmark = pytest.mark.integration

CLIENT_KEY = "client-key-0123456789"
OPERATOR_KEY = "operator-key-0123456789"


@pytest.fixture
def guarded(make_settings: Any) -> Settings:
    settings = make_settings(
        API_KEYS=f"{CLIENT_KEY}=alice",
        OPERATOR_API_KEYS=f"{OPERATOR_KEY}=ops",
        SIM_TICK_MS="0",
    )
    cmd_migrate(settings)
    return settings


def stream_len(settings: Settings, r: redis.Redis) -> int:
    return sum(r.xlen(settings.stream_key(i)) for i in range(settings.shards))


def post(client: testing.TestClient, path: str, body: Any, key: str | None) -> Any:
    headers = {"X-API-Key": key} if key else {}
    return client.simulate_post(path, json=body, headers=headers)


@pytest.mark.parametrize(
    ("key", "status"), [(None, 401), (CLIENT_KEY, 403), ("wrong-key-0123456789", 401)]
)
def test_sim_needs_an_operator_key(
    guarded: Settings, redis_client: redis.Redis, key: str | None, status: int
) -> None:
    client = testing.TestClient(create_app(guarded))
    for path, body in (
        ("/sim/price", {"symbol": "SOL/USDC", "price": "1"}),
        (
            "/sim/launch",
            {
                "symbol": "PUMP/SOL",
                "venue": "raydium",
                "baseReserve": "1000000",
                "quoteReserve": "1000",
            },
        ),
    ):
        r = post(client, path, body, key)
        assert r.status_code == status, r.text
    assert stream_len(guarded, redis_client) == 0


def test_two_operator_and_client_keys_together_refused(guarded: Settings) -> None:
    client = testing.TestClient(create_app(guarded))
    r = client.simulate_post(
        "/sim/price",
        json={"symbol": "SOL/USDC", "price": "150"},
        headers={"X-API-Key": OPERATOR_KEY, "Authorization": f"Bearer {CLIENT_KEY}"},
    )
    assert r.status_code in (401, 403)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"symbol": "SOL/USDC", "price": "1e200000"}, "price"),
        ({"symbol": "SOL/USDC", "price": "1e30"}, "price"),
        ({"symbol": "SOL/USDC", "price": 1e30}, "price"),
        ({"symbol": "SOL/USDC", "price": "NaN"}, "price"),
        ({"symbol": "SOL/USDC", "price": "Infinity"}, "price"),
        ({"symbol": "SOL/USDC", "price": "-150"}, "price"),
        ({"symbol": "SOL/USDC", "price": "0"}, "price"),
        ({"symbol": "SOL/USDC", "price": "1"}, "price"),  # 1/150 of the reference
        ({"symbol": "SOL/USDC", "price": "15001"}, "price"),  # > 100x
        ({"symbol": "SOL/USDC", "price": "1" * 80}, "price"),
        ({"symbol": "SOL/USDC", "price": True}, "price"),
        ({"symbol": "SOL/USDC", "price": ["150"]}, "price"),
    ],
)
def test_sim_price_out_of_bounds_is_400_naming_the_field(
    guarded: Settings, redis_client: redis.Redis, body: Any, field: str
) -> None:
    client = testing.TestClient(create_app(guarded))
    r = post(client, "/sim/price", body, OPERATOR_KEY)
    assert r.status_code == 400, r.text
    assert r.json["error"]["field"] == field
    assert stream_len(guarded, redis_client) == 0


LAUNCH = {
    "symbol": "PUMP/SOL",
    "venue": "raydium",
    "baseReserve": "1000000",
    "quoteReserve": "1000",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"baseReserve": "1e200000"}, "baseReserve"),
        ({"baseReserve": "1e30"}, "baseReserve"),
        ({"quoteReserve": "NaN"}, "quoteReserve"),
        ({"quoteReserve": "-1000"}, "quoteReserve"),
        ({"baseReserve": "0"}, "baseReserve"),
        ({"baseReserve": "0.0000001"}, "baseReserve"),  # more decimals than PUMP has
        ({"quoteReserve": "1000000"}, "quoteReserve"),  # launch price 1, reference 0.001
        ({"quoteReserve": "0.001"}, "quoteReserve"),  # 1e-9: below reference / 100
        ({"feeBps": 5000}, "feeBps"),
        ({"venue": "elsewhere"}, "venue"),
    ],
)
def test_sim_launch_out_of_bounds_is_400_naming_the_field(
    guarded: Settings, redis_client: redis.Redis, change: dict[str, Any], field: str
) -> None:
    client = testing.TestClient(create_app(guarded))
    r = post(client, "/sim/launch", {**LAUNCH, **change}, OPERATOR_KEY)
    assert r.status_code == 400, r.text
    assert r.json["error"]["field"] == field
    assert stream_len(guarded, redis_client) == 0


def test_operator_moves_price_within_bounds_and_market_keeps_trading(guarded: Settings) -> None:
    client = testing.TestClient(create_app(guarded))
    with worker_running(guarded):
        r = post(client, "/sim/price", {"symbol": "SOL/USDC", "price": "140"}, OPERATOR_KEY)
        assert r.status_code == 200, r.text
        r = post(client, "/sim/price", {"symbol": "SOL/USDC", "price": "1e30"}, OPERATOR_KEY)
        assert r.status_code == 400
        r = client.simulate_get("/markets", headers={"X-API-Key": CLIENT_KEY})
        assert r.status_code == 200
        sol = next(m for m in r.json["markets"] if m["symbol"] == "SOL/USDC")
        assert sol["referencePrice"] == "140"


def test_sim_disabled_has_no_routes(make_settings: Any) -> None:
    client = testing.TestClient(create_app(make_settings(SIM_ENABLED="0")))
    r = client.simulate_post("/sim/price", json={"symbol": "SOL/USDC", "price": "150"})
    assert r.status_code == 404
    assert r.json["error"]["code"] == "not_found"
