"""GET /openapi.json: an OpenAPI 3.1 document of every endpoint, built from the same
constants the validation uses (field names, enums, patterns, ranges, the configured
markets), so the document and the code cannot drift apart.

Where a rule depends on another value (a token's decimals, whether a market is launched,
`expiresAt` in the future) the schema is as strict as JSON Schema can say without
refusing anything the code accepts, and the rest is in the `description`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import falcon
import orjson

from engine_core.fsm import STATUS_NAMES
from service import __version__
from service.api import fields
from service.api import queries as q
from service.api import validation as v
from service.api.auth import API_KEY_HEADER
from service.config import Settings
from service.domain.markets import Market
from service.domain.units import MAX_BASE_UNITS

JSON = "application/json"
VENUES = ("raydium", "meteora")
FILL_VENUES = (*VENUES, "internal")

# validation.py's regexes, anchored (JSON Schema patterns are not anchored by themselves)
CLIENT_ID_PATTERN = "^[A-Za-z0-9_.:@-]{1,64}$"
CLIENT_ORDER_ID_PATTERN = "^[A-Za-z0-9_.:-]{1,64}$"
# fields.DECIMAL_RE narrowed to what it lets through as an amount: no '-', and at least
# one non-zero digit before the exponent (0, 0.0, 0e5 are refused whatever their form)
DECIMAL_PATTERN = (
    r"^\+?(?:[0-9]*[1-9][0-9]*(?:\.[0-9]*)?|[0-9]*\.[0-9]*[1-9][0-9]*)(?:[eE][+-]?[0-9]+)?$"
)
LIMIT_PATTERN = "^[0-9]{1,6}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _resp(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


_DEC_STR = {"type": "string", "description": 'a decimal string, e.g. "1.5"'}
_DEC_STR_OR_NULL = {"type": ["string", "null"]}
_TS = {"type": "string", "format": "date-time"}


def _schemas(markets: Mapping[str, Market]) -> dict[str, Any]:
    symbols = sorted(markets)
    decimals = ", ".join(
        f"{m.symbol}: {m.base.symbol} {m.base.decimals}, {m.quote.symbol} {m.quote.decimals}"
        for m in markets.values()
    )
    # 2^62 base units of the token with the fewest decimals: no larger number can pass
    fewest = min((t.decimals for m in markets.values() for t in (m.base, m.quote)), default=0)
    largest = math.nextafter(MAX_BASE_UNITS / 10**fewest, math.inf)
    amount = {
        "description": (
            "A positive quantity in token units, as a JSON number or a decimal string; no more "
            f"decimals than the token has ({decimals}) and at most 2^62 base units."
        ),
        "oneOf": [
            {"type": "number", "exclusiveMinimum": 0, "maximum": largest},
            {"type": "string", "pattern": DECIMAL_PATTERN, "minLength": 1, "maxLength": 128},
        ],
    }
    order_fields: dict[str, Any] = {
        "clientId": {"type": "string", "pattern": CLIENT_ID_PATTERN, "maxLength": 64},
        "symbol": {"type": "string", "enum": symbols},
        "side": {"type": "string", "enum": list(v.SIDES)},
        "amount": {
            **_ref("Amount"),
            "description": "quantity of the BASE token (SOL in SOL/USDC), buys and sells",
        },
        "type": {
            "type": ["string", "null"],
            "enum": [*v.ORDER_TYPES, None],
            "default": v.DEFAULT_TYPE,
            "description": "markets not launched yet take sniper orders only",
        },
        "limitPrice": {
            "oneOf": [_ref("Amount"), {"type": "null"}],
            "description": "quote tokens per whole base token; required for limit, optional "
            "cap for sniper, not allowed for market",
        },
        "timeInForce": {
            "type": ["string", "null"],
            "enum": [*v.TIME_IN_FORCE, None],
            "default": v.DEFAULT_TIME_IN_FORCE,
            "description": "market orders ignore it",
        },
        "expiresAt": {
            "oneOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
            "description": "ISO-8601 with a timezone, in the future; required for GTD only",
        },
        "slippageBps": {
            "type": ["integer", "null"],
            "minimum": 0,
            "maximum": fields.MAX_SLIPPAGE_BPS,
            "default": v.DEFAULT_SLIPPAGE_BPS,
        },
        "clientOrderId": {
            "type": ["string", "null"],
            "pattern": CLIENT_ORDER_ID_PATTERN,
            "maxLength": 64,
            "description": "idempotency key: a retry with the same body answers 200 with the "
            "original order, a different body 409",
        },
    }
    new_order = {
        "type": "object",
        "description": "`null` for an optional field means absent. Unknown fields -> 400.",
        "additionalProperties": False,
        "required": ["clientId", "symbol", "side", "amount"],
        "properties": order_fields,
        "allOf": [
            {  # market (the default type): no limitPrice
                "if": {"properties": {"type": {"enum": ["market", None]}}},
                "then": {"properties": {"limitPrice": {"type": "null"}}},
            },
            {  # limit: limitPrice required
                "if": {"properties": {"type": {"const": "limit"}}, "required": ["type"]},
                "then": {"required": ["limitPrice"], "properties": {"limitPrice": _ref("Amount")}},
            },
            {  # GTD: expiresAt required; otherwise not allowed
                "if": {
                    "properties": {"timeInForce": {"const": "GTD"}},
                    "required": ["timeInForce"],
                },
                "then": {
                    "required": ["expiresAt"],
                    "properties": {"expiresAt": {"type": "string", "format": "date-time"}},
                },
                "else": {"properties": {"expiresAt": {"type": "null"}}},
            },
        ],
    }
    fill = {
        "type": "object",
        "required": ["venue", "amount", "price", "quoteAmount", "fee", "txHash", "ts"],
        "properties": {
            "venue": {"type": "string", "enum": list(FILL_VENUES)},
            "amount": _DEC_STR,
            "price": _DEC_STR_OR_NULL,
            "quoteAmount": _DEC_STR,
            "fee": _DEC_STR,
            "txHash": {"type": ["string", "null"]},
            "ts": _TS,
        },
    }
    leg = {
        "type": "object",
        "required": ["venue", "amountIn", "amountOut", "fee", "priceImpactBps"],
        "properties": {
            "venue": {"type": "string"},
            "amountIn": _DEC_STR,
            "amountOut": _DEC_STR,
            "fee": _DEC_STR,
            "priceImpactBps": {"type": "integer"},
        },
    }
    quote = {
        "type": "object",
        "required": [
            "symbol",
            "side",
            "amount",
            "expectedPrice",
            "quoteAmount",
            "priceImpactBps",
            "fees",
            "legs",
            "steps",
            "expiresAt",
        ],
        "properties": {
            "symbol": {"type": "string"},
            "side": {"type": "string", "enum": list(v.SIDES)},
            "amount": _DEC_STR,
            "expectedPrice": _DEC_STR_OR_NULL,
            "quoteAmount": _DEC_STR,
            "priceImpactBps": {"type": "integer"},
            "fees": _DEC_STR,
            "legs": {"type": "array", "items": _ref("Leg")},
            "steps": {
                "type": "array",
                "items": {"type": "string", "enum": ["wrap_sol", "swap", "unwrap_sol"]},
            },
            "expiresAt": _TS,
            "minOut": {**_DEC_STR, "description": "sell: least quote accepted (orders' route)"},
            "maxIn": {**_DEC_STR, "description": "buy: most quote spent (orders' route)"},
        },
    }
    order_props: dict[str, Any] = {
        "id": {"type": "string", "format": "uuid"},
        "clientId": {"type": "string"},
        "clientOrderId": {"type": ["string", "null"]},
        "symbol": {"type": "string"},
        "side": {"type": "string", "enum": list(v.SIDES)},
        "type": {"type": "string", "enum": list(v.ORDER_TYPES)},
        "timeInForce": {"type": "string", "enum": list(v.TIME_IN_FORCE)},
        "amount": _DEC_STR,
        "limitPrice": _DEC_STR_OR_NULL,
        "expiresAt": _nullable(_TS),
        "slippageBps": {"type": "integer"},
        "status": _ref("Status"),
        "filled": _DEC_STR,
        "remaining": {**_DEC_STR, "description": "amount - filled, whatever the status"},
        "avgPrice": _DEC_STR_OR_NULL,
        "quoteAmount": _DEC_STR_OR_NULL,
        "fees": _DEC_STR_OR_NULL,
        "route": {
            "oneOf": [_ref("Quote"), {"type": "null"}],
            "description": "the plan of the latest attempt",
        },
        "fills": {"type": "array", "items": _ref("Fill")},
        "txHash": {"type": ["string", "null"]},
        "attempts": {"type": "integer", "minimum": 0},
        "failureReason": {"type": ["string", "null"]},
        "createdAt": _TS,
        "updatedAt": _TS,
        "seq": {"type": "integer", "minimum": 1, "description": "the last event's number"},
    }
    order = {"type": "object", "required": list(order_props), "properties": order_props}
    event = {
        "type": "object",
        "description": "a status change, with the payload fields stored with it",
        "required": ["seq", "eventId", "status", "ts"],
        "properties": {
            "seq": {"type": "integer", "minimum": 1},
            "eventId": {"type": "integer"},
            "status": _ref("Status"),
            "ts": _TS,
            "filled": _DEC_STR_OR_NULL,
            "remaining": _DEC_STR_OR_NULL,
            "avgPrice": _DEC_STR_OR_NULL,
            "txHash": {"type": ["string", "null"]},
            "failureReason": {"type": ["string", "null"]},
            "attempts": {"type": ["integer", "null"]},
        },
    }
    token = {
        "type": "object",
        "required": ["symbol", "decimals"],
        "properties": {"symbol": {"type": "string"}, "decimals": {"type": "integer"}},
    }
    venue = {
        "type": "object",
        "required": ["venue", "kind", "price"],
        "properties": {
            "venue": {"type": "string"},
            "kind": {"type": "string", "enum": ["cpmm", "dlmm"]},
            "price": _DEC_STR,
            "baseReserve": _DEC_STR,
            "quoteReserve": _DEC_STR,
            "feeBps": {"type": "integer"},
        },
    }
    market = {
        "type": "object",
        "required": ["symbol", "base", "quote", "launched", "referencePrice", "venues"],
        "properties": {
            "symbol": {"type": "string"},
            "base": _ref("Token"),
            "quote": _ref("Token"),
            "launched": {"type": "boolean"},
            "referencePrice": _DEC_STR,
            "venues": {"type": "array", "items": _ref("Venue")},
        },
    }
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                    "message": {"type": "string"},
                    "field": {"type": "string", "description": "the field at fault, if one"},
                },
            }
        },
    }
    health = {
        "type": "object",
        "required": ["status", "postgres", "redis", "version", "timestamp"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            "postgres": {"type": "string", "enum": ["connected", "disconnected"]},
            "redis": {"type": "string", "enum": ["connected", "disconnected"]},
            "version": {"type": "string"},
            "timestamp": {"type": "string"},
        },
    }
    symbol = {"type": "string", "enum": symbols}
    sim_amount = {  # the simulator reads these with Decimal(): a string is checked there
        "description": "a positive quantity in token units, JSON number or decimal string",
        "oneOf": [
            {"type": "number", "exclusiveMinimum": 0},
            {"type": "string", "minLength": 1, "maxLength": 128},
        ],
    }
    sim_launch = {
        "type": "object",
        "additionalProperties": False,
        "required": ["symbol", "venue", "baseReserve", "quoteReserve"],
        "properties": {
            "symbol": symbol,
            "venue": {"type": "string", "enum": list(VENUES)},
            "baseReserve": {**sim_amount, "description": "base tokens in the new pool"},
            "quoteReserve": {**sim_amount, "description": "quote tokens in the new pool"},
            "feeBps": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 25},
        },
    }
    sim_price = {
        "type": "object",
        "additionalProperties": False,
        "required": ["symbol", "price"],
        "properties": {
            "symbol": symbol,
            "price": {**sim_amount, "description": "quote tokens per whole base token"},
        },
    }
    return {
        "Amount": amount,
        "NewOrder": new_order,
        "Order": order,
        "OrderList": {
            "type": "object",
            "required": ["orders", "nextCursor"],
            "properties": {
                "orders": {"type": "array", "items": _ref("Order")},
                "nextCursor": {
                    "type": ["string", "null"],
                    "description": "pass as `cursor` for the next (older) page",
                },
            },
        },
        "Status": {"type": "string", "enum": list(STATUS_NAMES)},
        "Fill": fill,
        "Leg": leg,
        "Quote": quote,
        "Event": event,
        "EventList": {
            "type": "object",
            "required": ["events"],
            "properties": {"events": {"type": "array", "items": _ref("Event")}},
        },
        "Token": token,
        "Venue": venue,
        "Market": market,
        "MarketList": {
            "type": "object",
            "required": ["markets"],
            "properties": {"markets": {"type": "array", "items": _ref("Market")}},
        },
        "Health": health,
        "Error": error,
        "SimLaunch": sim_launch,
        "SimPrice": sim_price,
    }


def _error_response(description: str, **headers: str) -> dict[str, Any]:
    out = _json(_ref("Error"), description)
    if headers:
        out["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return out


_RESPONSES: dict[str, Any] = {
    "BadRequest": _error_response("bad input; `field` names the parameter or field at fault"),
    "Unauthorized": _error_response(
        "no API key or an unknown one", **{"WWW-Authenticate": "Bearer"}
    ),
    "Forbidden": _error_response("clientId is not the API key's client"),
    "NotFound": _error_response("no such order, or not yours"),
    "Conflict": _error_response("conflicts with the current state"),
    "TooLarge": _error_response("the body is larger than MAX_BODY_BYTES"),
    "NotJson": _error_response("the body is not application/json"),
    "RateLimited": _error_response(
        "over RATE_LIMIT_PER_MIN for this client", **{"Retry-After": "seconds"}
    ),
    "Unavailable": _error_response(
        "a dependency (PostgreSQL, or the market's worker) is unavailable",
        **{"Retry-After": "seconds"},
    ),
}


def _common(*codes: str) -> dict[str, Any]:
    names = {
        "400": "BadRequest",
        "401": "Unauthorized",
        "403": "Forbidden",
        "404": "NotFound",
        "409": "Conflict",
        "413": "TooLarge",
        "415": "NotJson",
        "429": "RateLimited",
        "503": "Unavailable",
    }
    return {code: _resp(names[code]) for code in codes}


def _blank_or(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def _query(name: str, schema: dict[str, Any], description: str, required: bool = False) -> Any:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


_ORDER_ID = {
    "name": "order_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
    "description": "the order's id (a UUID); anything else is 404",
}
_IDEMPOTENCY = {
    "name": v.IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": CLIENT_ORDER_ID_PATTERN, "maxLength": 64},
    "description": "idempotency key when the body has no clientOrderId (must equal it if both)",
}


def _paths(markets: Mapping[str, Market], sim_enabled: bool) -> dict[str, Any]:
    symbols = sorted(markets)
    post_order = {
        "summary": "Place an order",
        "parameters": [_IDEMPOTENCY],
        "requestBody": {"required": True, "content": {JSON: {"schema": _ref("NewOrder")}}},
        "responses": {
            "201": _json(
                _ref("Order"),
                "accepted: the order and its `pending` event are committed",
                headers={"Location": {"schema": {"type": "string"}, "description": "/orders/{id}"}},
            ),
            "200": _json(_ref("Order"), "an identical retry: the original order"),
            **_common("400", "401", "403", "409", "413", "415", "429", "503"),
        },
    }
    paths: dict[str, Any] = {
        "/orders": {
            "post": {**post_order, "operationId": "placeOrder"},
            "get": {
                "operationId": "listOrders",
                "summary": "Orders, newest first (with API keys: the key's client only)",
                "description": "Each parameter given at most once; a blank one counts as "
                "absent; an unknown one is 400.",
                "parameters": [
                    _query(
                        "clientId",
                        _blank_or(
                            {"type": "string", "pattern": CLIENT_ID_PATTERN, "maxLength": 64}
                        ),
                        "only this client's orders (with API keys: the key's client, the default)",
                    ),
                    _query(
                        "status",
                        _blank_or({"type": "string", "enum": list(STATUS_NAMES)}),
                        "only orders in this status",
                    ),
                    _query(
                        "limit",
                        _blank_or({"type": "integer", "minimum": 1, "maximum": q.MAX_LIMIT}),
                        f"page size, 1..{q.MAX_LIMIT} (default {q.DEFAULT_LIMIT})",
                    ),
                    _query(
                        "cursor",
                        {"type": "string", "maxLength": 256},
                        "`nextCursor` of the previous page",
                    ),
                ],
                "responses": {
                    "200": _json(_ref("OrderList"), "a page of orders"),
                    **_common("400", "401", "403", "429", "503"),
                },
            },
        },
        "/api/orders/execute": {
            "post": {
                **post_order,
                "operationId": "executeOrder",
                "summary": "Same as POST /orders",
            },
        },
        "/orders/{order_id}": {
            "parameters": [_ORDER_ID],
            "get": {
                "operationId": "getOrder",
                "summary": "One order, with its fills and route",
                "responses": {
                    "200": _json(_ref("Order"), "the order"),
                    **_common("401", "404", "429", "503"),
                },
            },
            "delete": {
                "operationId": "cancelOrder",
                "summary": "Cancel an order (its market's worker does it and answers)",
                "responses": {
                    "200": _json(_ref("Order"), "the canceled order"),
                    **_common("401", "404", "409", "429", "503"),
                },
            },
        },
        "/orders/{order_id}/events": {
            "parameters": [_ORDER_ID],
            "get": {
                "operationId": "getOrderEvents",
                "summary": "Every status change of an order, in seq order",
                "responses": {
                    "200": _json(_ref("EventList"), "the events"),
                    **_common("401", "404", "429", "503"),
                },
            },
        },
        "/quote": {
            "get": {
                "operationId": "getQuote",
                "summary": "The route an order would take now",
                "parameters": [
                    _query("symbol", {"type": "string", "enum": symbols}, "market", True),
                    _query("side", {"type": "string", "enum": list(v.SIDES)}, "side", True),
                    _query(
                        "amount",
                        {"type": "string", "pattern": DECIMAL_PATTERN, "maxLength": 128},
                        "base-token quantity",
                        True,
                    ),
                ],
                "responses": {
                    "200": _json(_ref("Quote"), "the best route"),
                    **_common("400", "401", "409", "429", "503"),
                },
            }
        },
        "/markets": {
            "get": {
                "operationId": "listMarkets",
                "summary": "Every market with each venue's price and liquidity",
                "responses": {
                    "200": _json(_ref("MarketList"), "the markets"),
                    **_common("401", "429", "503"),
                },
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "PostgreSQL and Redis reachability",
                "security": [],
                "responses": {
                    "200": _json(_ref("Health"), "both connected"),
                    "503": _json(
                        _ref("Health"),
                        "a dependency is down (named)",
                        headers={"Retry-After": {"schema": {"type": "string"}}},
                    ),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus exposition of every process",
                "security": [],
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }
        },
    }
    # the same resource serves both paths, so GET lists orders here too (a WebSocket upgrade
    # on this path goes to the relay, behind the front)
    paths["/api/orders/execute"]["get"] = {
        **paths["/orders"]["get"],
        "operationId": "listOrdersAlias",
        "summary": "Same as GET /orders",
    }
    html = {"text/html": {"schema": {"type": "string"}}}
    for path, summary in (
        ("/", "The live blotter"),
        ("/blotter", "The live blotter"),
        ("/docs", "These API docs, rendered"),
    ):
        paths[path] = {
            "get": {
                "operationId": "page" + (path.strip("/").title() or "Index"),
                "summary": summary,
                "security": [],
                "responses": {"200": {"description": "an HTML page", "content": html}},
            }
        }
    paths["/config.json"] = {
        "get": {
            "operationId": "pageConfig",
            "summary": "Where the WebSocket relay is, for the pages and the CLI",
            "security": [],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["wsPort", "sameOrigin", "wsUrl", "wsPaths"],
                        "properties": {
                            "wsPort": {"type": "integer"},
                            "sameOrigin": {"type": "boolean"},
                            "wsUrl": {"type": "string"},
                            "wsPaths": {
                                "type": "object",
                                "properties": {
                                    "client": {"type": "string"},
                                    "order": {"type": "string"},
                                },
                            },
                        },
                    },
                    "the relay's address",
                )
            },
        }
    }
    paths["/static/{file}"] = {
        "get": {
            "operationId": "staticFile",
            "summary": "The pages' scripts and styles",
            "security": [],
            "parameters": [
                {
                    "name": "file",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
                }
            ],
            "responses": {
                "200": {"description": "the file"},
                "404": _resp("NotFound"),
            },
        }
    }
    if sim_enabled:
        for path, op_id, schema, summary in (
            ("/sim/launch", "simLaunch", "SimLaunch", "Open a pool (sniper orders wait for it)"),
            ("/sim/price", "simPrice", "SimPrice", "Move every pool of a market to a price"),
        ):
            paths[path] = {
                "post": {
                    "operationId": op_id,
                    "summary": summary,
                    "requestBody": {
                        "required": True,
                        "content": {JSON: {"schema": _ref(schema)}},
                    },
                    "responses": {
                        "200": _json(_ref("Market"), "the market, as in /markets"),
                        **_common("400", "401", "409", "413", "415", "429", "503"),
                    },
                }
            }
    return paths


def build_openapi(settings: Settings, markets: Mapping[str, Market]) -> dict[str, Any]:
    """The document for this configuration (markets, simulator on/off, keys on/off)."""
    auth = bool(settings.api_keys)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "order-engine",
            "version": __version__,
            "description": (
                "Order execution engine for a simulated Solana DEX. Amounts are quantities of "
                "the BASE token; requests take JSON numbers or decimal strings, responses "
                "send decimal strings. Every 4xx/5xx body is "
                '{"error": {"code", "message", "field"}}. '
                + (
                    "API keys are required (Authorization: Bearer or X-API-Key); each key sees "
                    "only its own client's orders."
                    if auth
                    else "This server runs OPEN: no API keys configured."
                )
            ),
        },
        "servers": [{"url": "/"}],
        "paths": _paths(markets, settings.sim_enabled),
        "components": {
            "schemas": _schemas(markets),
            "responses": _RESPONSES,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "the API key"},
                "apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
            },
        },
    }
    if auth:
        doc["security"] = [{"bearer": []}, {"apiKey": []}]
    return doc


class OpenApiResource:
    def __init__(self, document: dict[str, Any]) -> None:
        self.data = orjson.dumps(document)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = self.data
        resp.content_type = falcon.MEDIA_JSON
