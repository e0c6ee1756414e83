"""POST /orders/batch on the real PostgreSQL and Redis: one commit for all, per-order
results in request order, bad orders store nothing, idempotency per order, every order
fills."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
import pytest
import redis
from falcon import testing

from service.api.app import create_app
from service.config import Settings
from tests.integration.test_api import counts
from tests.integration.test_worker import SIX, events_of, run_worker_until_final

pytestmark = pytest.mark.integration


def order(i: int, **over: Any) -> dict[str, Any]:
    return {
        "clientId": f"b{i % 3}",
        "symbol": "SOL/USDC",
        "side": "buy" if i % 2 else "sell",
        "amount": "0.01",
        **over,
    }


@pytest.fixture
def client(settings: Settings) -> testing.TestClient:
    return testing.TestClient(create_app(settings))


def test_batch_100_orders_one_commit_201_each_in_order_and_queued(
    client: testing.TestClient, settings: Settings, redis_client: redis.Redis
) -> None:
    body = {"orders": [order(i, clientOrderId=f"k-{i}") for i in range(100)]}
    resp = client.simulate_post("/orders/batch", json=body)
    assert resp.status_code == 200, resp.text
    results = resp.json["results"]
    assert [r["status"] for r in results] == [201] * 100
    assert [r["order"]["clientOrderId"] for r in results] == [f"k-{i}" for i in range(100)]
    assert all(r["order"]["status"] == "pending" and r["order"]["seq"] == 1 for r in results)
    assert counts(settings, redis_client) == (100, 100, 100)
    with psycopg.connect(settings.database_url) as conn:
        # every row written by one transaction: one commit for the whole batch
        (orders_tx,) = conn.execute("SELECT count(DISTINCT xmin::text) FROM orders").fetchone()
        (events_tx,) = conn.execute(
            "SELECT count(DISTINCT xmin::text) FROM order_events"
        ).fetchone()
    assert (orders_tx, events_tx) == (1, 1)


def test_batch_bad_orders_get_errors_naming_index_and_field_and_store_nothing(
    client: testing.TestClient, settings: Settings, redis_client: redis.Redis
) -> None:
    body = {
        "orders": [
            order(0),
            order(1, amount="-1"),
            order(2),
            "not an order",
            order(4, side="BUY"),
            order(5, extra=1),
        ]
    }
    resp = client.simulate_post("/orders/batch", json=body)
    assert resp.status_code == 200, resp.text
    results = resp.json["results"]
    assert [r["status"] for r in results] == [201, 400, 201, 400, 400, 400]
    errors = {i: results[i]["error"] for i in (1, 3, 4, 5)}
    assert {i: (e["index"], e["field"]) for i, e in errors.items()} == {
        1: (1, "orders[1].amount"),
        3: (3, "orders[3]"),
        4: (4, "orders[4].side"),
        5: (5, "orders[5].extra"),
    }
    assert all(e["code"] and e["message"] for e in errors.values())
    assert counts(settings, redis_client) == (2, 2, 2)
    with psycopg.connect(settings.database_url) as conn:
        ids = {str(r[0]) for r in conn.execute("SELECT id FROM orders").fetchall()}
    assert ids == {results[0]["order"]["id"], results[2]["order"]["id"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"orders": []}, "orders"),
        ({"orders": [order(i) for i in range(101)]}, "orders"),
        ({"orders": order(0)}, "orders"),
        ({}, "orders"),
        ({"orders": [order(0)], "extra": 1}, "extra"),
    ],
)
def test_batch_body_not_a_batch_400_for_request_and_stores_nothing(
    client: testing.TestClient,
    settings: Settings,
    redis_client: redis.Redis,
    body: dict[str, Any],
    field: str,
) -> None:
    resp = client.simulate_post("/orders/batch", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json["error"]["field"] == field
    assert counts(settings, redis_client) == (0, 0, 0)


def test_batch_body_over_single_order_limit_accepted_under_its_own(make_settings: Any) -> None:
    settings = make_settings(MAX_BODY_BYTES="2048")
    client = testing.TestClient(create_app(settings))
    big = {"orders": [order(i, clientOrderId=f"{'x' * 60}-{i:03d}") for i in range(100)]}
    assert len(orjson.dumps(big)) > settings.max_body_bytes
    single = client.simulate_post("/orders", body=b" " * 3000, content_type="application/json")
    assert single.status_code == 413
    resp = client.simulate_post("/api/orders/batch", json=big)
    assert resp.status_code == 200, resp.text
    assert [r["status"] for r in resp.json["results"]] == [201] * 100
    over = client.simulate_post(
        "/orders/batch", body=b" " * 204_801, content_type="application/json"
    )
    assert over.status_code == 413


def test_batch_idempotency_per_order_retry_200_conflict_409_duplicate_in_batch_one_order(
    client: testing.TestClient, settings: Settings, redis_client: redis.Redis
) -> None:
    first = client.simulate_post(
        "/orders/batch", json={"orders": [order(0, clientOrderId="a"), order(1)]}
    ).json["results"]
    assert [r["status"] for r in first] == [201, 201]
    again = client.simulate_post(
        "/orders/batch",
        json={
            "orders": [
                order(0, clientOrderId="a"),  # identical retry: the original order
                order(0, clientOrderId="a", amount="0.02"),  # same key, other body
                order(2, clientOrderId="n"),  # new, twice in this batch: one order
                order(2, clientOrderId="n"),
            ]
        },
    ).json["results"]
    assert [r["status"] for r in again] == [200, 409, 201, 200]
    assert again[0]["order"]["id"] == first[0]["order"]["id"]
    assert (
        again[1]["error"]["index"] == 1 and again[1]["error"]["field"] == "orders[1].clientOrderId"
    )
    assert again[3]["order"]["id"] == again[2]["order"]["id"]
    assert counts(settings, redis_client) == (3, 3, 3)


def test_batch_idempotency_key_header_refused(client: testing.TestClient) -> None:
    resp = client.simulate_post(
        "/orders/batch", json={"orders": [order(0)]}, headers={"Idempotency-Key": "k"}
    )
    assert resp.status_code == 400 and resp.json["error"]["field"] == "Idempotency-Key"


def test_batch_orders_all_fill_with_six_events(
    client: testing.TestClient, settings: Settings
) -> None:
    results = client.simulate_post(
        "/orders/batch", json={"orders": [order(i) for i in range(100)]}
    ).json["results"]
    ids = [r["order"]["id"] for r in results]
    assert len(ids) == 100
    run_worker_until_final(settings, ids, timeout=60)
    for oid in ids:
        assert [e[1] for e in events_of(settings, oid)] == SIX
