"""API keys and the per-client rate limit, on the real PostgreSQL and Redis.

Two keys, two clients: each sees only its own orders over REST and WebSocket; the rate
limit holds across two app instances (two gunicorn workers) sharing Redis; a Redis outage
never turns into 429s or 500s.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
import psycopg
import pytest
import redis
from falcon import testing
from websockets.asyncio.client import connect

from service.api.app import create_app
from service.api.auth import KeyRing
from service.api.client_rate_limit import RateLimiter
from service.config import Settings
from tests.helpers.api import GOOD, counts
from tests.helpers.relay import rejected, relay_for, run, wait_until, ws_url

pytestmark = pytest.mark.integration

KEYS = "key-alice-0123456789=alice,key-bob-9876543210=bob"
ALICE = {"Authorization": "Bearer key-alice-0123456789"}
BOB = {"X-API-Key": "key-bob-9876543210"}


@pytest.fixture
def keyed(make_settings: Any) -> Settings:
    return make_settings(API_KEYS=KEYS)


@pytest.fixture
def client(keyed: Settings) -> testing.TestClient:
    return testing.TestClient(create_app(keyed))


def place(client: testing.TestClient, headers: dict[str, str], client_id: str) -> str:
    r = client.simulate_post("/orders", json={**GOOD, "clientId": client_id}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json["id"])


# -- who is calling --


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"X-API-Key": "nope"},
        {"Authorization": "Basic a2V5LWFsaWNlLTAxMjM0NTY3ODk="},
        {"Authorization": "Bearer"},
        {"X-API-Key": "x" * 5000},
    ],
    ids=["none", "bearer-unknown", "header-unknown", "basic", "bearer-empty", "huge"],
)
def test_auth_missing_or_unknown_key_401_stores_nothing(
    client: testing.TestClient,
    keyed: Settings,
    redis_client: redis.Redis,
    headers: dict[str, str],
) -> None:
    for method, path in [
        ("POST", "/orders"),
        ("POST", "/api/orders/execute"),
        ("GET", "/orders"),
        ("GET", f"/orders/{uuid.uuid4()}"),
        ("GET", f"/orders/{uuid.uuid4()}/events"),
        ("DELETE", f"/orders/{uuid.uuid4()}"),
        ("GET", "/markets"),
        ("GET", "/quote?symbol=SOL/USDC&side=buy&amount=1"),
    ]:
        r = client.simulate_request(method, path, json=GOOD, headers=headers)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json["error"]["code"] == "unauthorized" and r.json["error"]["message"]
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert counts(keyed, redis_client) == (0, 0, 0)


def test_auth_any_wrong_credential_refuses_the_request(client: testing.TestClient) -> None:
    """A request carrying a bad key is refused even when it also carries a good one, and
    the keys of two clients together are refused."""
    good = {"X-API-Key": "key-alice-0123456789"}
    for extra in ("Bearer nope", "Basic a2V5", "key-alice-0123456789", "Bearer key-bob-9876543210"):
        r = client.simulate_get("/orders", headers={**good, "Authorization": extra})
        assert r.status_code == 401, extra
    both = {**good, "Authorization": "Bearer key-alice-0123456789"}
    assert client.simulate_get("/orders", headers=both).status_code == 200


def test_auth_open_paths_need_no_key(client: testing.TestClient) -> None:
    assert client.simulate_get("/health").status_code == 200
    assert client.simulate_get("/metrics").status_code == 200
    assert client.simulate_get("/").status_code == 200  # the pages load, their calls send keys
    assert client.simulate_get("/config.json").status_code == 200
    doc = client.simulate_get("/openapi.json")
    assert doc.status_code == 200 and doc.json["security"]


def test_auth_bearer_and_x_api_key_both_accepted(client: testing.TestClient) -> None:
    assert place(client, ALICE, "alice")
    assert place(client, {"X-API-Key": "key-alice-0123456789"}, "alice")
    assert place(client, {"Authorization": "bearer   key-bob-9876543210 "}, "bob")


def test_auth_body_client_id_of_another_client_403_stores_nothing(
    client: testing.TestClient, keyed: Settings, redis_client: redis.Redis
) -> None:
    for path in ("/orders", "/api/orders/execute"):
        r = client.simulate_post(path, json={**GOOD, "clientId": "bob"}, headers=ALICE)
        assert r.status_code == 403, r.text
        assert r.json["error"] == {
            "code": "forbidden",
            "message": "clientId is not the API key's client",
            "field": "clientId",
        }
    assert counts(keyed, redis_client) == (0, 0, 0)


def test_auth_other_clients_order_reads_as_unknown_404(client: testing.TestClient) -> None:
    mine = place(client, ALICE, "alice")
    theirs = place(client, BOB, "bob")
    unknown = str(uuid.uuid4())
    for path in (f"/orders/{theirs}", f"/orders/{theirs}/events"):
        r = client.simulate_get(path, headers=ALICE)
        u = client.simulate_get(path.replace(theirs, unknown), headers=ALICE)
        assert (r.status_code, r.json) == (u.status_code, u.json) == (404, r.json)
        assert r.json["error"]["code"] == "not_found"
    for path in (f"/orders/{mine}", f"/orders/{mine}/events"):
        assert client.simulate_get(path, headers=ALICE).status_code == 200
        assert client.simulate_get(path, headers=BOB).status_code == 404


def test_auth_delete_of_another_clients_order_404_order_untouched(
    client: testing.TestClient,
) -> None:
    theirs = place(client, BOB, "bob")
    r = client.simulate_delete(f"/orders/{theirs}", headers=ALICE)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    got = client.simulate_get(f"/orders/{theirs}", headers=BOB)
    assert got.status_code == 200 and got.json["status"] != "canceled"


def test_auth_list_only_the_keys_client_and_other_client_id_403(
    client: testing.TestClient,
) -> None:
    alices = [place(client, ALICE, "alice") for _ in range(3)]
    bobs = [place(client, BOB, "bob") for _ in range(2)]
    r = client.simulate_get("/orders", headers=ALICE)
    assert r.status_code == 200
    assert [o["id"] for o in r.json["orders"]] == alices[::-1]
    r = client.simulate_get("/orders", params={"clientId": "bob"}, headers={**BOB})
    assert [o["id"] for o in r.json["orders"]] == bobs[::-1]
    page = client.simulate_get("/orders", params={"clientId": "alice", "limit": "2"}, headers=ALICE)
    assert [o["id"] for o in page.json["orders"]] == alices[::-1][:2]
    rest = client.simulate_get(
        "/orders", params={"cursor": page.json["nextCursor"]}, headers=ALICE
    ).json
    assert [o["id"] for o in rest["orders"]] == alices[:1] and rest["nextCursor"] is None

    r = client.simulate_get("/orders", params={"clientId": "bob"}, headers=ALICE)
    assert r.status_code == 403 and r.json["error"]["field"] == "clientId"


def test_auth_cross_client_over_rest_and_websocket(keyed: Settings) -> None:
    """Orders placed over REST with two keys; each key's socket sees only its own."""
    api = testing.TestClient(create_app(keyed))

    async def main() -> None:
        async with relay_for(keyed) as relay:
            theirs = place(api, BOB, "bob")
            path = f"/api/orders/execute?orderId={theirs}"
            assert (await rejected(relay, path, {"X-API-Key": "key-alice-0123456789"}))[0] == 404
            async with connect(ws_url(relay, "/ws?apiKey=key-alice-0123456789")) as ws:
                await wait_until(lambda: len(relay.hub) == 1)
                place(api, BOB, "bob")  # published to bob only
                mine = place(api, ALICE, "alice")
                message = orjson.loads(await ws.recv())
                assert message["payload"]["id"] == mine
                assert message["payload"]["status"] == "pending"

    run(main())


# -- keys stay secret --


def test_auth_keys_kept_only_as_digests_and_never_logged(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ring = KeyRing({"s3cret-key": "alice"})
    assert ring.client_for("s3cret-key") == "alice"
    assert ring.client_for("s3cret-kez") is None and ring.client_for("") is None
    assert "s3cret" not in repr(vars(ring))

    caplog.set_level(logging.DEBUG)
    settings = make_settings(API_KEYS="s3cret-key-0123456=alice")
    client = testing.TestClient(create_app(settings))
    client.simulate_get("/orders", headers={"X-API-Key": "s3cret-key-0123456"})
    client.simulate_get("/orders", headers={"X-API-Key": "s3cret-kez-0123456"})
    client.simulate_post(
        "/orders", json=GOOD, headers={"Authorization": "Bearer s3cret-key-0123456"}
    )
    assert "s3cret" not in caplog.text


def test_auth_open_mode_warns_once_at_start_and_serves_any_client(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = testing.TestClient(create_app(settings))
    warnings = [r for r in caplog.records if "WITHOUT AUTHENTICATION" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    oid = place(client, {}, "anyone")
    assert client.simulate_get(f"/orders/{oid}").status_code == 200
    assert client.simulate_get("/orders", params={"clientId": "anyone"}).json["orders"]
    warnings = [r for r in caplog.records if "WITHOUT AUTHENTICATION" in r.getMessage()]
    assert len(warnings) == 1


# -- rate limit --


def test_ratelimit_shared_by_two_workers_429_with_retry_after(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    settings = make_settings(API_KEYS=KEYS, RATE_LIMIT_PER_MIN="6")
    workers = [testing.TestClient(create_app(settings)) for _ in range(2)]  # two processes' apps
    codes = [workers[i % 2].simulate_post("/orders", json=GOOD, headers=ALICE) for i in range(8)]
    assert [r.status_code for r in codes] == [201] * 6 + [429] * 2
    refused = codes[-1]
    assert refused.json["error"]["code"] == "rate_limited" and refused.json["error"]["message"]
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 10  # one slot comes back every 10 s at 6 a minute
    assert counts(settings, redis_client) == (6, 6, 6)  # nothing stored for a 429
    # another client has its own budget, and reads have their own
    assert workers[1].simulate_post("/orders", json={**GOOD, "clientId": "bob"}, headers=BOB)
    assert workers[0].simulate_get("/orders", headers=ALICE).status_code == 200
    # the budget lives in Redis under the contract's prefix
    assert redis_client.exists(settings.key("ratelimit", "client", "alice"))


def test_ratelimit_open_mode_by_body_and_query_client(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    settings = make_settings(RATE_LIMIT_PER_MIN="3")
    client = testing.TestClient(create_app(settings))
    got = [client.simulate_post("/orders", json=GOOD).status_code for _ in range(4)]
    assert got == [201, 201, 201, 429]
    other = client.simulate_post("/orders", json={**GOOD, "clientId": "zed"})
    assert other.status_code == 201
    reads = [
        client.simulate_get("/orders", params={"clientId": "alice"}).status_code for _ in range(4)
    ]
    assert reads == [200, 200, 200, 429]
    assert counts(settings, redis_client)[0] == 4


def test_ratelimit_window_allows_a_minutes_burst_then_refills_at_the_steady_rate(
    make_settings: Any,
) -> None:
    settings = make_settings(RATE_LIMIT_PER_MIN="120")  # one slot back every 500 ms
    limiter = RateLimiter(settings)
    start = time.monotonic()
    allowed = 0
    while (d := limiter.hit("c")) is not None and d.allowed:
        allowed += 1
    elapsed_ms = (time.monotonic() - start) * 1000
    assert d is not None and 0 < d.retry_after_ms <= 500
    assert 120 <= allowed <= 120 + int(elapsed_ms / 500) + 1
    time.sleep(d.retry_after_ms / 1000 + 0.05)
    again = limiter.hit("c")
    assert again is not None and again.allowed
    limiter.close()


def test_ratelimit_redis_down_fails_open_logs_once(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        API_KEYS=KEYS, RATE_LIMIT_PER_MIN="1", REDIS_URL="redis://127.0.0.1:1/0"
    )
    caplog.set_level(logging.INFO)
    client = testing.TestClient(create_app(settings))
    got = [client.simulate_post("/orders", json=GOOD, headers=ALICE).status_code for _ in range(3)]
    assert got == [201, 201, 201]  # committed; the sweeper queues them when Redis is back
    assert client.simulate_get("/orders", headers=ALICE).status_code == 200
    down = [r for r in caplog.records if "rate limit off" in r.getMessage()]
    assert len(down) == 1
    with psycopg.connect(settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (3,)


def test_ratelimit_redis_back_limits_again(make_settings: Any) -> None:
    settings = make_settings(RATE_LIMIT_PER_MIN="1")
    limiter = RateLimiter(settings, skip_after_failure=0.0)
    real = limiter._script
    limiter._script = _broken  # type: ignore[assignment]
    assert limiter.hit("c") is None and limiter.hit("c") is None
    limiter._script = real
    first, second = limiter.hit("c"), limiter.hit("c")
    assert first is not None and first.allowed
    assert second is not None and not second.allowed and second.retry_after_ms > 59_000
    limiter.close()


def _broken(**kw: Any) -> Any:
    raise redis.ConnectionError("down")


def test_wrong_keys_from_one_source_429_once_their_budget_is_spent_at_the_highest_limit(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The bad-key budget holds with the per-client limit at its maximum (its bucket once
    failed with 'invalid expire time' there, and the limiter then let everything through)."""
    from service.api.client_rate_limit import BAD_KEYS_PER_MIN

    settings = make_settings(API_KEYS=KEYS, RATE_LIMIT_PER_MIN="100000000")
    client = testing.TestClient(create_app(settings))
    for _ in range(3):  # the highest limit's own buckets answer too
        assert client.simulate_get("/orders", headers=ALICE).status_code == 200
    with caplog.at_level(logging.WARNING, logger="service.api.client_rate_limit"):
        got = [
            client.simulate_get("/orders", headers={"X-API-Key": "wrong"}).status_code
            for _ in range(BAD_KEYS_PER_MIN + 2)
        ]
    assert got == [401] * BAD_KEYS_PER_MIN + [429] * 2
    assert "rate limit off" not in caplog.text
