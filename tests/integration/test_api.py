"""The Falcon app on the real PostgreSQL and Redis: accept, read back, refuse bad input."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg
import pytest
import redis
from falcon import testing

from service.api.app import create_app
from service.config import Settings
from tests.helpers.api import GOOD, counts

pytestmark = pytest.mark.integration


@pytest.fixture
def client(settings: Settings) -> testing.TestClient:
    return testing.TestClient(create_app(settings))


def test_post_order_valid_body_commits_order_event_and_stream_entry(
    client: testing.TestClient, settings: Settings, redis_client: redis.Redis
) -> None:
    resp = client.simulate_post("/orders", json=GOOD)
    assert resp.status_code == 201, resp.text
    order = resp.json
    uuid.UUID(order["id"])
    assert order["status"] == "pending" and order["seq"] == 1
    assert order["amount"] == "1.5" and order["remaining"] == "1.5" and order["filled"] == "0"
    assert order["type"] == "market" and order["slippageBps"] == 50 and order["fills"] == []
    assert counts(settings, redis_client) == (1, 1, 1)
    with psycopg.connect(settings.database_url) as conn:
        (amount,) = conn.execute("SELECT amount FROM orders").fetchone()
    assert amount == 1_500_000_000  # base units of SOL (9 decimals)

    got = client.simulate_get(f"/orders/{order['id']}")
    assert got.status_code == 200 and got.json["id"] == order["id"]
    events = client.simulate_get(f"/orders/{order['id']}/events").json["events"]
    assert [(e["seq"], e["status"]) for e in events] == [(1, "pending")]


def test_post_execute_path_same_as_orders(client: testing.TestClient) -> None:
    resp = client.simulate_post("/api/orders/execute", json={**GOOD, "side": "sell"})
    assert resp.status_code == 201 and resp.json["side"] == "sell"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GOOD, "amount": "0"}, "amount"),
        ({**GOOD, "amount": "-1"}, "amount"),
        ({**GOOD, "amount": "0.0000000001"}, "amount"),
        ({**GOOD, "symbol": "DOGE/USDC"}, "symbol"),
        ({**GOOD, "side": "BUY"}, "side"),
        ({**GOOD, "limitPrice": "150"}, "limitPrice"),
        ({**GOOD, "extra": 1}, "extra"),
        ({k: v for k, v in GOOD.items() if k != "clientId"}, "clientId"),
        ({**GOOD, "amount": True}, "amount"),
        ({**GOOD, "slippageBps": 5001}, "slippageBps"),
    ],
)
def test_post_order_bad_field_400_names_field_and_stores_nothing(
    client: testing.TestClient,
    settings: Settings,
    redis_client: redis.Redis,
    body: dict[str, Any],
    field: str,
) -> None:
    resp = client.simulate_post("/orders", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json["error"]["field"] == field
    assert resp.json["error"]["code"] and resp.json["error"]["message"]
    assert counts(settings, redis_client) == (0, 0, 0)


def test_post_order_not_json_415_and_bad_json_400(
    client: testing.TestClient, settings: Settings, redis_client: redis.Redis
) -> None:
    r = client.simulate_post("/orders", body="amount=1", content_type="text/plain")
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"
    r = client.simulate_post("/orders", body="{not json", content_type="application/json")
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_json"
    r = client.simulate_post("/orders", body="[1, 2]", content_type="application/json")
    assert r.status_code == 400
    r = client.simulate_post("/orders", body=" " * 20_000, content_type="application/json")
    assert r.status_code == 413
    assert counts(settings, redis_client) == (0, 0, 0)


def test_post_order_same_client_order_id_200_same_order_then_409_on_other_body(
    client: testing.TestClient, settings: Settings, redis_client: redis.Redis
) -> None:
    body = {**GOOD, "clientOrderId": "abc-1"}
    first = client.simulate_post("/orders", json=body)
    again = client.simulate_post("/orders", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"]
    other = client.simulate_post("/orders", json={**body, "amount": "2"})
    assert other.status_code == 409 and other.json["error"]["code"] == "idempotency_conflict"
    assert counts(settings, redis_client) == (1, 1, 1)


def test_post_order_concurrent_identical_retries_make_one_order(
    client: testing.TestClient, settings: Settings, redis_client: redis.Redis
) -> None:
    body = {**GOOD, "clientOrderId": "same"}
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def post() -> None:
        r = client.simulate_post("/orders", json=body, headers={"Idempotency-Key": "same"})
        with lock:
            results.append((r.status_code, r.json["id"]))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(code for code, _ in results) == [200] * 7 + [201]
    assert len({oid for _, oid in results}) == 1
    assert counts(settings, redis_client)[0] == 1


def test_post_order_many_concurrent_requests_each_committed_once_in_shared_batches(
    settings: Settings, redis_client: redis.Redis
) -> None:
    from service.api.resources import OrdersResource

    app = create_app(settings)
    client = testing.TestClient(app)
    resource = app._router.find("/orders")[0]  # type: ignore[attr-defined]
    assert isinstance(resource, OrdersResource)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        for j in range(3):
            body = {**GOOD, "clientId": f"c{i % 4}", "clientOrderId": f"o-{i}-{j}"}
            r = client.simulate_post("/orders", json=body)
            with lock:
                results.append((r.status_code, r.json["id"]))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in results] == [201] * 96
    assert len({oid for _, oid in results}) == 96
    assert counts(settings, redis_client) == (96, 96, 96)
    assert resource.commits.orders == 96
    assert resource.commits.batches < 96  # requests in flight together shared commits


def test_get_unknown_order_404_in_contract_shape(client: testing.TestClient) -> None:
    r = client.simulate_get(f"/orders/{uuid.uuid4()}")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    r = client.simulate_get("/orders/not-a-uuid")
    assert r.status_code == 404 and "error" in r.json
    r = client.simulate_get("/nowhere")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_list_orders_newest_first_with_cursor_pages(client: testing.TestClient) -> None:
    ids = [
        client.simulate_post("/orders", json={**GOOD, "clientId": "bob"}).json["id"]
        for _ in range(5)
    ]
    client.simulate_post("/orders", json={**GOOD, "clientId": "carol"})
    page1 = client.simulate_get("/orders", params={"clientId": "bob", "limit": "3"}).json
    assert [o["id"] for o in page1["orders"]] == ids[::-1][:3]
    page2 = client.simulate_get(
        "/orders", params={"clientId": "bob", "limit": "3", "cursor": page1["nextCursor"]}
    ).json
    assert [o["id"] for o in page2["orders"]] == ids[::-1][3:]
    assert page2["nextCursor"] is None
    bad = client.simulate_get("/orders", params={"limit": "0"})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "limit"


def test_markets_and_quote_from_pool_state(client: testing.TestClient, settings: Settings) -> None:
    from service.runtime.cli import cmd_migrate

    cmd_migrate(settings)  # seeds the pools, as `order-engine migrate` and `up` do
    markets = client.simulate_get("/markets").json["markets"]
    assert {m["symbol"] for m in markets} >= {"SOL/USDC", "ETH/USDT", "BONK/SOL", "PUMP/SOL"}
    sol = next(m for m in markets if m["symbol"] == "SOL/USDC")
    assert {v["venue"] for v in sol["venues"]} == {"raydium", "meteora"}
    assert 100 < float(sol["venues"][0]["price"]) < 200
    pump = next(m for m in markets if m["symbol"] == "PUMP/SOL")
    assert pump["launched"] is False and pump["venues"] == []
    q = client.simulate_get(
        "/quote", params={"symbol": "BONK/SOL", "side": "buy", "amount": "1000000"}
    )
    assert q.status_code == 200, q.text
    assert q.json["steps"][0] == "wrap_sol" and q.json["legs"]


def test_post_order_postgres_down_503_retry_after_nothing_queued(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    settings = make_settings(DATABASE_URL="postgresql://postgres@127.0.0.1:1/none")
    client = testing.TestClient(create_app(settings))
    r = client.simulate_post("/orders", json=GOOD)
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert r.json["error"]["code"] == "dependency_unavailable"
    assert sum(redis_client.xlen(settings.stream_key(s)) for s in range(settings.shards)) == 0
    health = client.simulate_get("/health")
    assert health.status_code == 503 and health.json["postgres"] == "disconnected"


def test_post_order_redis_down_still_201_and_health_names_redis(
    make_settings: Any,
) -> None:
    settings = make_settings(REDIS_URL="redis://127.0.0.1:1/0")
    client = testing.TestClient(create_app(settings))
    r = client.simulate_post("/orders", json=GOOD)
    assert r.status_code == 201  # committed: the sweeper queues it once Redis is back
    health = client.simulate_get("/health")
    assert health.status_code == 503 and health.json["redis"] == "disconnected"
    assert health.json["postgres"] == "connected"
