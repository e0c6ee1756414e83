"""Fuzz the Falcon app: hypothesis-generated bodies, headers, paths and query strings.

Properties, for every request:
- never a 5xx;
- every 4xx has the contract's error body, and nothing was stored or queued for it (the
  orders / order_events row counts and the shard streams' lengths are unchanged);
- a 201 order stored exactly one order, one event and one stream entry.

`python -m pytest tests/integration/test_fuzz.py -s` prints how many requests ran and their
status codes. The example counts keep the whole module well under a minute.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
import string
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import psycopg
import pytest
import redis
import schemathesis
from falcon import testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from service.api.app import create_app
from service.api.market_commands import MarketCommands
from service.api.openapi import build_openapi
from service.api.validation import parse_order
from service.config import DEFAULT_MARKETS_FILE, Settings
from service.domain.markets import load_markets
from service.errors import ApiError
from service.runtime.cli import cmd_migrate
from service.store.orders import OrderStore

pytestmark = [
    pytest.mark.integration,
    # the connection pools' background threads draw jitter from `random` while examples run
    pytest.mark.filterwarnings("ignore:Do not use the `random` module"),
]

KEY_A, KEY_B = "fuzz-key-alpha-123", "fuzz-key-beta-456"
FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same requests every run: a red build is reproducible
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one app and schema per test, on purpose
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
TOTAL: Counter[int] = Counter()  # every test's status codes, printed at the end


class StubWorkerQueue(MarketCommands):
    """Commands (cancel, /sim/*) wait for the market's worker. A running worker would change
    the counts under the test's feet, and none would make each command wait out its timeout
    (then 503), so here every command is answered at once as a worker that did it would."""

    def command(
        self, symbol: str, cmd: str, args: dict[str, Any], timeout: float
    ) -> dict[str, Any] | None:
        return {"status": 200}


class Target:
    """One app on its own schema and Redis prefix, plus the counts that must not move."""

    def __init__(self, settings: Settings, redis_client: redis.Redis) -> None:
        cmd_migrate(settings)  # pools seeded, so /quote and /markets do real work
        self.settings = settings
        self.store = OrderStore(settings.database_url, 2)
        self.queue = StubWorkerQueue(settings)
        app = create_app(settings, store=self.store, queue=self.queue)
        self.client = testing.TestClient(app)
        self.redis = redis_client
        self.db = psycopg.connect(settings.database_url, autocommit=True)
        self.streams = [settings.stream_key(s) for s in range(settings.shards)]
        self.order_ids: list[str] = []
        self.codes: Counter[int] = Counter()

    def counts(self) -> tuple[int, int, int]:
        orders, events = self.db.execute(
            "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_events)"
        ).fetchone() or (0, 0)
        pipe = self.redis.pipeline(transaction=False)
        for key in self.streams:
            pipe.xlen(key)
        return orders, events, sum(pipe.execute())

    def request(self, method: str, path: str, **kw: Any) -> testing.Result:
        before = self.counts()
        r = self.client.simulate_request(method, path, **kw)
        after = self.counts()
        self.codes[r.status_code] += 1
        TOTAL[r.status_code] += 1
        where = f"{method} {path} {kw!r:.600} -> {r.status_code} {r.text[:300]}"
        assert r.status_code < 500, where
        if 400 <= r.status_code < 500:
            err = r.json["error"]
            assert isinstance(err["code"], str) and err["code"], where
            assert isinstance(err["message"], str) and err["message"], where
            assert after == before, f"stored after a 4xx: {before} -> {after}: {where}"
        if method == "POST" and r.status_code == 201 and "order" in path:
            assert after == (before[0] + 1, before[1] + 1, before[2] + 1), where
            self.order_ids.append(r.json["id"])
        if method == "POST" and r.status_code == 200 and "order" in path:
            assert after == before, where  # an idempotent retry stores nothing
        return r

    def close(self) -> None:
        self.db.close()
        self.store.close()
        self.queue.close()


@pytest.fixture
def open_target(make_settings: Any, redis_client: redis.Redis) -> Iterator[Target]:
    t = Target(make_settings(RATE_LIMIT_PER_MIN="100000000"), redis_client)
    yield t
    t.close()
    _report("open", t.codes)


@pytest.fixture
def keyed_target(make_settings: Any, redis_client: redis.Redis) -> Iterator[Target]:
    t = Target(
        make_settings(
            API_KEYS=f"{KEY_A}=alice,{KEY_B}=bob",
            RATE_LIMIT_PER_MIN="100000000",
        ),
        redis_client,
    )
    yield t
    t.close()
    _report("keyed", t.codes)


def _report(name: str, codes: Counter[int]) -> None:
    if not codes:
        return
    hist = ", ".join(f"{code}: {n}" for code, n in sorted(codes.items()))
    print(f"\n[fuzz {name}] {sum(codes.values())} requests: {hist}")


@pytest.fixture(scope="module", autouse=True)
def _total() -> Iterator[None]:
    yield
    _report("total", TOTAL)


# --------------------------------------------------------------------------- strategies

SYMBOLS = ["SOL/USDC", "ETH/USDT", "BONK/SOL", "PUMP/SOL"]
LATIN1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
header_text = st.text(LATIN1, max_size=80)
any_text = st.text(max_size=40)

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | any_text
)
any_json = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(any_text, c, max_size=4),
    max_leaves=8,
)

decimal_strings = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.decimals(min_value=0, max_value=10**6, places=9).map(str),
    st.sampled_from(
        ["1.5", "0.000000001", "1e3", "1E-9", "+2", ".5", "5.", "1e19", "1e-400", "9" * 40]
    ),
    st.sampled_from(["0", "-1", "-0", "NaN", "Infinity", "1_000", " 1", "1 ", "0x10", "١"]),
    st.sampled_from(["4611686018.427387904", "4611686018.427387905", "9223372036.854775808"]),
)
amounts = st.one_of(
    decimal_strings,
    st.integers(min_value=-10, max_value=2**64),
    st.floats(),
    json_leaf,
)


def _future(draw_offset: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=draw_offset)).isoformat()


expires = st.one_of(
    st.floats(min_value=-1e6, max_value=1e8).map(_future),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["2030-01-01T00:00:00Z", "2030-01-01", "9999-12-31T23:59:59-23:59"]),
    any_text,
    json_leaf,
)
ids = st.from_regex(r"[A-Za-z0-9_.:@-]{1,64}", fullmatch=True)
order_fields: dict[str, st.SearchStrategy[Any]] = {
    "clientId": st.sampled_from(["alice", "bob", "carol"]) | ids | json_leaf,
    "symbol": st.sampled_from([*SYMBOLS, "DOGE/USDC", "sol/usdc", ""]) | json_leaf,
    "side": st.sampled_from(["buy", "sell", "BUY", "hold"]) | json_leaf,
    "amount": amounts,
    "quoteAmount": amounts,
    "type": st.sampled_from(["market", "limit", "sniper", "stop"]) | json_leaf,
    "limitPrice": amounts,
    "timeInForce": st.sampled_from(["GTC", "IOC", "FOK", "GTD", "gtc"]) | json_leaf,
    "expiresAt": expires,
    "slippageBps": st.integers(min_value=-5, max_value=6000) | json_leaf,
    "clientOrderId": st.sampled_from(["abc-1", "abc-2"]) | ids | json_leaf,
}


@st.composite
def order_bodies(draw: st.DrawFn) -> Any:
    """Mostly order-shaped objects (so validation goes deep), sometimes anything."""
    if draw(st.integers(0, 9)) == 0:
        return draw(any_json)
    body: dict[str, Any] = {
        "clientId": draw(st.sampled_from(["alice", "bob"])),
        "symbol": draw(st.sampled_from(SYMBOLS)),
        "side": draw(st.sampled_from(["buy", "sell"])),
        "amount": draw(st.sampled_from(["1.5", "0.25", 3, 1.25])),
    }
    n = draw(st.integers(0, 4))
    for name in draw(st.lists(st.sampled_from(sorted(order_fields)), max_size=n, unique=True)):
        if draw(st.booleans()) and name in body:
            del body[name]
        else:
            body[name] = draw(order_fields[name])
    if draw(st.integers(0, 14)) == 0:
        body[draw(any_text)] = draw(json_leaf)
    return body


def encode(body: Any) -> bytes:
    # json (not orjson) so huge integers and NaN/Infinity literals go out as written
    return json.dumps(body, allow_nan=True).encode()


wrong_content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "",
    ]
) | header_text.filter(lambda s: s.strip() == s)
content_types = st.integers(0, 9).flatmap(
    lambda i: (
        st.sampled_from(["application/json", "application/json; charset=utf-8"])
        if i < 8
        else wrong_content_types
    )
)

raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"", b"{", b"null", b"[]", b'"x"', b"1e999", b"{}" * 3, b"\xff\xfe{}"]),
    st.integers(16_000, 20_000).map(lambda n: b'{"clientId": "' + b"a" * n + b'"}'),
)


def _cursor(ts: datetime, order_id: str) -> str:
    text = f"{ts.isoformat()}|{order_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


cursors = st.one_of(
    any_text,
    st.text(string.ascii_letters + string.digits + "-_", max_size=300),
    st.builds(lambda b: base64.urlsafe_b64encode(b).decode(), st.binary(max_size=80)),
    # well-formed cursors over UUIDs; a non-UUID id is test_fuzz_cursor_with_non_uuid_id_400
    st.builds(
        _cursor,
        st.datetimes(timezones=st.just(UTC)),
        st.uuids().map(str),
    ),
)
query_values = st.one_of(
    any_text,
    st.sampled_from(["", "alice", "bob", "pending", "filled", "0", "1", "200", "201", "-1"]),
    st.lists(st.sampled_from(["alice", "1", "buy"]), min_size=2, max_size=3),
)


@st.composite
def list_params(draw: st.DrawFn) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if draw(st.booleans()):
        params["clientId"] = draw(st.sampled_from(["alice", "bob", "carol"]) | query_values)
    if draw(st.booleans()):
        params["status"] = draw(st.sampled_from(["pending", "open", "filled", "nope"]))
    if draw(st.booleans()):
        params["limit"] = draw(st.integers(-5, 300).map(str) | query_values)
    if draw(st.booleans()):
        params["cursor"] = draw(cursors)
    if draw(st.integers(0, 5)) == 0:
        params[draw(st.text(string.ascii_letters, min_size=1, max_size=10))] = draw(query_values)
    return params


@st.composite
def quote_params(draw: st.DrawFn) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        params["symbol"] = draw(st.sampled_from([*SYMBOLS, "DOGE/USDC"]) | query_values)
    if draw(st.integers(0, 9)):
        params["side"] = draw(st.sampled_from(["buy", "sell"]) | query_values)
    if draw(st.integers(0, 9)):
        params["amount"] = draw(
            st.sampled_from(["1", "0.5", "100000000", "1e30", "0"]) | decimal_strings
        )
    if draw(st.integers(0, 5)) == 0:
        params[draw(st.text(string.ascii_letters, min_size=1, max_size=10))] = draw(query_values)
    return params


def auth_headers(keyed: bool) -> st.SearchStrategy[dict[str, str]]:
    if not keyed:
        return st.just({})
    good = st.sampled_from(
        [
            {"Authorization": f"Bearer {KEY_A}"},
            {"X-API-Key": KEY_A},
            {"X-API-Key": KEY_B},
            {"Authorization": f"Bearer {KEY_B}"},
        ]
    )
    bad = st.one_of(
        st.just({}),
        st.builds(lambda t: {"Authorization": t}, header_text),
        st.builds(lambda t: {"X-API-Key": t}, header_text.filter(str.strip)),
        st.builds(lambda t: {"Authorization": f"Bearer {t}"}, header_text),
        st.just({"Authorization": f"Basic {KEY_A}"}),
        st.just({"X-API-Key": KEY_A + "x"}),
    )
    return st.integers(0, 3).flatmap(lambda i: good if i else bad)


# --------------------------------------------------------------------------- the tests


def _post_order(t: Target, data: st.DataObject, keyed: bool) -> None:
    headers = dict(data.draw(auth_headers(keyed), "auth"))
    ctype = data.draw(content_types, "content type")
    headers["Content-Type"] = ctype
    if data.draw(st.integers(0, 4), "idem?") == 0:
        headers["Idempotency-Key"] = data.draw(st.sampled_from(["abc-1", "k"]) | header_text)
    if data.draw(st.integers(0, 7), "raw?") == 0:
        body = data.draw(raw_bodies, "raw body")
    else:
        body = encode(data.draw(order_bodies(), "body"))
    path = data.draw(st.sampled_from(["/orders", "/api/orders/execute"]), "path")
    t.request("POST", path, body=body, headers=headers)


@settings(FUZZ, max_examples=800)
@given(data=st.data())
def test_fuzz_post_order_open(open_target: Target, data: st.DataObject) -> None:
    _post_order(open_target, data, keyed=False)


@settings(FUZZ, max_examples=500)
@given(data=st.data())
def test_fuzz_post_order_keyed(keyed_target: Target, data: st.DataObject) -> None:
    _post_order(keyed_target, data, keyed=True)


def _reads(t: Target, data: st.DataObject, keyed: bool) -> None:
    headers = data.draw(auth_headers(keyed), "auth")
    kind = data.draw(st.sampled_from(["list", "quote", "item", "events", "delete", "other"]))
    if kind == "list":
        t.request("GET", "/orders", params=data.draw(list_params()), headers=headers)
    elif kind == "quote":
        t.request("GET", "/quote", params=data.draw(quote_params()), headers=headers)
    elif kind in ("item", "events", "delete"):
        known = st.sampled_from(t.order_ids) if t.order_ids else st.uuids().map(str)
        oid = data.draw(
            known | st.uuids().map(str) | st.text(string.printable, max_size=40), "order id"
        )
        path = f"/orders/{oid}" + ("/events" if kind == "events" else "")
        method = "DELETE" if kind == "delete" else "GET"
        t.request(method, path, headers=headers)
    else:
        method = data.draw(st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "POST", "OPTIONS"]))
        path = data.draw(
            st.sampled_from(
                [
                    "/markets",
                    "/health",
                    "/openapi.json",
                    "/orders",
                    "/sim/launch",
                    "/sim/price",
                    "/nowhere",
                    "/orders/",
                    "//orders",
                ]
            )
        )
        body = encode(data.draw(any_json)) if method in ("POST", "PUT", "PATCH") else None
        t.request(
            method,
            path,
            body=body,
            headers={**headers, "Content-Type": "application/json"},
            query_string=data.draw(st.text(string.printable.strip(), max_size=40)),
        )


@settings(FUZZ, max_examples=500)
@given(data=st.data())
def test_fuzz_reads_and_other_routes_open(open_target: Target, data: st.DataObject) -> None:
    if not open_target.order_ids:  # something to read, cancel and page through
        for client in ("alice", "bob"):
            r = open_target.request(
                "POST",
                "/orders",
                json={"clientId": client, "symbol": "SOL/USDC", "side": "buy", "amount": "1"},
            )
            assert r.status_code == 201
    _reads(open_target, data, keyed=False)


@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_fuzz_reads_and_other_routes_keyed(keyed_target: Target, data: st.DataObject) -> None:
    if not keyed_target.order_ids:
        for client, key in (("alice", KEY_A), ("bob", KEY_B)):
            r = keyed_target.request(
                "POST",
                "/orders",
                json={"clientId": client, "symbol": "SOL/USDC", "side": "buy", "amount": "1"},
                headers={"X-API-Key": key},
            )
            assert r.status_code == 201
    _reads(keyed_target, data, keyed=True)


def test_fuzz_amount_at_the_bigint_edge_stored_exactly_or_refused(open_target: Target) -> None:
    """2^62 base units is the largest amount; anything above never reaches PostgreSQL."""
    body = {"clientId": "edge", "symbol": "SOL/USDC", "side": "buy"}
    ok = open_target.request("POST", "/orders", json={**body, "amount": "4611686018.427387904"})
    assert ok.status_code == 201
    (stored,) = open_target.db.execute(
        "SELECT amount FROM orders WHERE id = %s", (ok.json["id"],)
    ).fetchone() or (None,)
    assert stored == 2**62
    for amount in (
        "4611686018.427387905",
        "9223372036.854775808",
        2**63,
        2**64,
        1e19,
        "1e30",
        math.ldexp(1, 70),
    ):
        r = open_target.request("POST", "/orders", json={**body, "amount": amount})
        assert r.status_code == 400 and r.json["error"]["field"] == "amount", amount
    limit = {**body, "type": "limit", "amount": "1", "limitPrice": "9223372036854.775808"}
    r = open_target.request("POST", "/orders", json=limit)
    assert r.status_code == 400 and r.json["error"]["field"] == "limitPrice"


def test_fuzz_cursor_with_non_uuid_id_400(open_target: Target) -> None:
    cursor = _cursor(datetime(2026, 1, 1, tzinfo=UTC), "not-a-uuid")
    r = open_target.client.simulate_get("/orders", params={"cursor": cursor})
    assert r.status_code == 400 and r.json["error"]["field"] == "cursor"


@settings(FUZZ, max_examples=25)
@given(amount=st.decimals(min_value="0.000000001", max_value="1000", places=9))
def test_fuzz_order_ids_are_uuids(open_target: Target, amount: Any) -> None:
    before = len(open_target.order_ids)
    body = {"clientId": "ids", "symbol": "SOL/USDC", "side": "buy", "amount": str(amount)}
    r = open_target.request("POST", "/orders", json=body)
    assert r.status_code == 201, r.text
    assert len(open_target.order_ids) == before + 1
    oid = open_target.order_ids[-1]
    assert str(uuid.UUID(oid)) == oid  # canonical text form
    assert len(set(open_target.order_ids)) == len(open_target.order_ids)


# --------------------------------------------------------------------------- the document


@pytest.mark.parametrize(
    "env",
    [{}, {"API_KEYS": f"{KEY_A}=alice"}, {"SIM_ENABLED": "0"}],
    ids=["open", "keyed", "no-sim"],
)
def test_openapi_document_valid_3_1_and_covers_every_route(make_settings: Any, env: Any) -> None:
    settings = make_settings(**env)
    store = OrderStore(settings.database_url, 1)
    app = create_app(settings, store=store)
    r = testing.TestClient(app).simulate_get("/openapi.json")
    store.close()
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    doc = r.json
    validate_openapi(doc)  # raises on any violation of the OpenAPI 3.1 schema
    assert doc["openapi"] == "3.1.0"
    assert bool(doc.get("security")) == bool(settings.api_keys)
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey"}

    routes = {(template, method) for template, method in _app_routes(app)}
    routes |= {("/static/{file}", "GET")}  # the static route
    documented = {
        (path, method.upper())
        for path, item in doc["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert documented == routes
    assert ("/sim/launch", "POST") in documented or not settings.sim_enabled


def _app_routes(app: Any) -> Iterator[tuple[str, str]]:
    """(OpenAPI path, method) of every responder the app has (private router API)."""
    nodes = list(app._router._roots)
    while nodes:
        node = nodes.pop()
        nodes.extend(node.children)
        if node.resource is None:
            continue
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", node.uri_template)
        for method, responder in node.method_map.items():
            if method != "OPTIONS" and getattr(responder, "__self__", None) is node.resource:
                yield path, method


@functools.cache
def _new_order_validator(markets_file: Path) -> Any:
    doc = build_openapi(Settings(markets_file=markets_file), _markets(markets_file))
    return Draft202012Validator({**doc, "$ref": "#/components/schemas/NewOrder"})


@functools.cache
def _markets(markets_file: Path) -> Any:
    return load_markets(markets_file)


def test_openapi_new_order_schema_matches_validation(settings: Settings) -> None:
    from service.api.validation import ORDER_FIELDS, ORDER_TYPES, SIDES, TIME_IN_FORCE

    doc = build_openapi(settings, _markets(settings.markets_file))
    new_order = doc["components"]["schemas"]["NewOrder"]
    assert tuple(new_order["properties"]) == ORDER_FIELDS
    assert new_order["additionalProperties"] is False
    assert new_order["required"] == ["clientId", "symbol", "side"]  # + amount or quoteAmount
    props = new_order["properties"]
    assert props["side"]["enum"] == list(SIDES)
    assert props["type"]["enum"] == [*ORDER_TYPES, None]
    assert props["timeInForce"]["enum"] == [*TIME_IN_FORCE, None]
    assert (props["slippageBps"]["minimum"], props["slippageBps"]["maximum"]) == (0, 5000)
    schema = _new_order_validator(settings.markets_file)
    good = {"clientId": "a", "symbol": "SOL/USDC", "side": "buy", "amount": "1.5"}
    assert schema.is_valid(good) and schema.is_valid({**good, "amount": 2})
    for bad in (
        {**good, "extra": 1},
        {**good, "side": "BUY"},
        {**good, "slippageBps": 5001},
        {**good, "amount": "0"},
        {**good, "amount": "-1"},
        {**good, "amount": True},
        {**good, "limitPrice": "150"},  # market
        {**good, "type": "limit"},  # no limitPrice
        {**good, "timeInForce": "GTD"},  # no expiresAt
        {**good, "expiresAt": "2030-01-01T00:00:00Z"},  # not GTD
        {**good, "clientOrderId": "a b"},
        {k: v for k, v in good.items() if k != "clientId"},
        {k: v for k, v in good.items() if k != "amount"},  # neither amount nor quoteAmount
        {**good, "quoteAmount": "100"},  # both
        {**{k: v for k, v in good.items() if k != "amount"}, "quoteAmount": "0"},
        {
            **{k: v for k, v in good.items() if k != "amount"},
            "quoteAmount": "100",
            "type": "limit",
            "limitPrice": "150",
        },
    ):
        assert not schema.is_valid(bad), bad
    quote = {k: v for k, v in good.items() if k != "amount"}
    assert schema.is_valid({**quote, "quoteAmount": "100"})
    assert schema.is_valid({**quote, "quoteAmount": 100, "amount": None, "type": "market"})


@settings(FUZZ, max_examples=500)
@given(body=order_bodies())
def test_openapi_new_order_schema_never_refuses_a_body_the_code_accepts(body: Any) -> None:
    """The schema may be looser than the code (rules JSON Schema can't say), never
    stricter: whatever parse_order accepts, the documented schema accepts."""
    markets_file = DEFAULT_MARKETS_FILE
    try:
        parse_order(body, _markets(markets_file), now=datetime.now(UTC))
    except ApiError:
        return
    assert _new_order_validator(markets_file).is_valid(body), body


# --------------------------------------------------------------------------- schemathesis
#
# The same properties, with requests generated from GET /openapi.json by schemathesis
# (valid and invalid ones, every operation) against the app on a real socket. Besides
# "no 5xx" and "nothing stored after a 4xx", schemathesis' own checks hold: answers match
# the documented schemas, status codes and content types, invalid requests are refused,
# and with API keys a request without one is refused. Not checked: "every schema-valid
# request is accepted" (ST202), since some rules are not expressible in JSON Schema (a
# token's decimals, expiresAt in the future, a market not launched yet).

ST_CODES: Counter[int] = Counter()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadedServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Live:
    def __init__(self, target: Target, keyed: bool) -> None:
        self.target = target
        self.keyed = keyed
        self.server = make_server(
            "127.0.0.1",
            0,
            target.client.app,
            server_class=_ThreadedServer,
            handler_class=_QuietHandler,
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        project: dict[str, Any] = {"generation": {"max-examples": 30, "mode": "all"}}
        if keyed:
            project["auth"] = {
                "openapi": {"apiKey": {"api_key": KEY_A}, "bearer": {"bearer": KEY_A}}
            }
        config = SchemathesisConfig.from_dict({"seed": 6, **project})
        self.schema = schemathesis.openapi.from_url(f"{self.url}/openapi.json", config=config)
        self.schema.config.base_url = self.url

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["open", "keyed"])
def live(request: pytest.FixtureRequest) -> Iterator[Live]:
    target = request.getfixturevalue(f"{request.param}_target")
    server = Live(target, keyed=request.param == "keyed")
    yield server
    server.close()


@pytest.fixture
def live_schema(live: Live) -> Any:
    return live.schema


st_schema = schemathesis.pytest.from_fixture("live_schema")


@st_schema.parametrize()
def test_fuzz_schemathesis_against_openapi_json(case: Any, live: Live) -> None:
    if live.keyed:  # let valid bodies and queries be alice's (the key's) half the time
        for where in (case.body, case.query):
            if isinstance(where, dict) and _is_client_id(where.get("clientId")):
                if len(where["clientId"]) % 2 == 0:
                    where["clientId"] = "alice"
    t = live.target
    before = t.counts()
    response = case.call()
    after = t.counts()
    ST_CODES[response.status_code] += 1
    TOTAL[response.status_code] += 1
    assert response.status_code < 500, response.text[:500]
    if 400 <= response.status_code < 500:
        assert after == before, f"stored after a {response.status_code}: {before} -> {after}"
    case.validate_response(response, excluded_checks=[positive_data_acceptance])


def _is_client_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.:@-]{1,64}", value) is not None


@pytest.fixture(scope="module", autouse=True)
def _st_total() -> Iterator[None]:
    yield
    _report("schemathesis", ST_CODES)
