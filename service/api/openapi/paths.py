"""The paths of the OpenAPI document: every endpoint with its parameters and responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine_core.fsm import STATUS_NAMES
from service.api import queries as q
from service.api import validation as v
from service.api.openapi.batch import batch_path
from service.api.openapi.parts import (
    CLIENT_ID_PATTERN,
    DECIMAL_PATTERN,
    IDEMPOTENCY_PARAM,
    JSON,
    ORDER_ID_PARAM,
    blank_or,
    common,
    json_body,
    query_param,
    ref,
    resp,
)
from service.domain.markets import Market


def build_paths(markets: Mapping[str, Market], sim_enabled: bool) -> dict[str, Any]:
    symbols = sorted(markets)
    post_order = {
        "summary": "Place an order",
        "parameters": [IDEMPOTENCY_PARAM],
        "requestBody": {"required": True, "content": {JSON: {"schema": ref("NewOrder")}}},
        "responses": {
            "201": json_body(
                ref("Order"),
                "accepted: the order and its `pending` event are committed",
                headers={"Location": {"schema": {"type": "string"}, "description": "/orders/{id}"}},
            ),
            "200": json_body(ref("Order"), "an identical retry: the original order"),
            **common("400", "401", "403", "409", "413", "415", "429", "503"),
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
                    query_param(
                        "clientId",
                        blank_or({"type": "string", "pattern": CLIENT_ID_PATTERN, "maxLength": 64}),
                        "only this client's orders (with API keys: the key's client, the default)",
                    ),
                    query_param(
                        "status",
                        blank_or({"type": "string", "enum": list(STATUS_NAMES)}),
                        "only orders in this status",
                    ),
                    query_param(
                        "limit",
                        blank_or({"type": "integer", "minimum": 1, "maximum": q.MAX_LIMIT}),
                        f"page size, 1..{q.MAX_LIMIT} (default {q.DEFAULT_LIMIT})",
                    ),
                    query_param(
                        "cursor",
                        {"type": "string", "maxLength": 256},
                        "`nextCursor` of the previous page",
                    ),
                ],
                "responses": {
                    "200": json_body(ref("OrderList"), "a page of orders"),
                    **common("400", "401", "403", "429", "503"),
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
        **batch_path(),  # POST /orders/batch, /api/orders/batch
        "/orders/{order_id}": {
            "parameters": [ORDER_ID_PARAM],
            "get": {
                "operationId": "getOrder",
                "summary": "One order, with its fills and route",
                "responses": {
                    "200": json_body(ref("Order"), "the order"),
                    **common("401", "404", "429", "503"),
                },
            },
            "delete": {
                "operationId": "cancelOrder",
                "summary": "Cancel an order (its market's worker does it and answers)",
                "responses": {
                    "200": json_body(ref("Order"), "the canceled order"),
                    "202": json_body(
                        ref("Order"),
                        "the order as it stands: the worker did not answer within CANCEL_WAIT_MS"
                        " (an attempt in flight); the cancel is applied all the same and its"
                        " `canceled` event tells (or 409-like: the order ends otherwise)",
                    ),
                    **common("401", "404", "409", "429", "503"),
                },
            },
        },
        "/orders/{order_id}/events": {
            "parameters": [ORDER_ID_PARAM],
            "get": {
                "operationId": "getOrderEvents",
                "summary": "Every status change of an order, in seq order",
                "responses": {
                    "200": json_body(ref("EventList"), "the events"),
                    **common("401", "404", "429", "503"),
                },
            },
        },
        "/quote": {
            "get": {
                "operationId": "getQuote",
                "summary": "The route an order would take now",
                "parameters": [
                    query_param("symbol", {"type": "string", "enum": symbols}, "market", True),
                    query_param("side", {"type": "string", "enum": list(v.SIDES)}, "side", True),
                    query_param(
                        "amount",
                        {"type": "string", "pattern": DECIMAL_PATTERN, "maxLength": 128},
                        "base-token quantity (required unless quoteAmount is given)",
                        False,
                    ),
                    query_param(
                        "quoteAmount",
                        {"type": "string", "pattern": DECIMAL_PATTERN, "maxLength": 128},
                        "instead of amount: quote-token amount to spend (buy) or receive (sell);"
                        " the base amount is sized as a market order's is",
                        False,
                    ),
                ],
                "responses": {
                    "200": json_body(ref("Quote"), "the best route"),
                    **common("400", "401", "409", "429", "503"),
                },
            }
        },
        "/markets": {
            "get": {
                "operationId": "listMarkets",
                "summary": "Every market with each venue's price and liquidity",
                "responses": {
                    "200": json_body(ref("MarketList"), "the markets"),
                    **common("401", "429", "503"),
                },
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "PostgreSQL and Redis reachability",
                "security": [],
                "responses": {
                    "200": json_body(ref("Health"), "both connected"),
                    "503": json_body(
                        ref("Health"),
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
                "responses": {"200": json_body({"type": "object"}, "OpenAPI 3.1")},
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
                "200": json_body(
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
                "404": resp("NotFound"),
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
                    "description": "An operator's command: with keys configured it needs a key"
                    " of OPERATOR_API_KEYS (a client's key is 403). Prices, and a launch's"
                    " reserve ratio, within SIM_MAX_PRICE_RATIO of the reference price.",
                    "requestBody": {
                        "required": True,
                        "content": {JSON: {"schema": ref(schema)}},
                    },
                    "responses": {
                        "200": json_body(ref("Market"), "the market, as in /markets"),
                        **common("400", "401", "403", "409", "413", "415", "429", "503"),
                    },
                }
            }
    return paths
