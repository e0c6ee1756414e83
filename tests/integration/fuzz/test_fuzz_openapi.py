"""The OpenAPI document the app serves: valid 3.1, covering every route, and its NewOrder
schema agreeing with service.api.validation (never stricter than the code)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from falcon import testing
from hypothesis import given, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from service.api.app import create_app
from service.api.openapi import build_openapi
from service.api.validation import parse_order
from service.config import DEFAULT_MARKETS_FILE, Settings
from service.domain.markets import load_markets
from service.errors import ApiError
from service.store.orders import OrderStore
from tests.helpers.fuzz_strategies import (
    order_bodies,
)
from tests.helpers.fuzz_target import FUZZ, KEY_A

pytestmark = [
    pytest.mark.integration,
    # the connection pools' background threads draw jitter from `random` while examples run
    pytest.mark.filterwarnings("ignore:Do not use the `random` module"),
]

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
