"""The components/schemas of the OpenAPI document: order bodies, orders, events, fills,
markets, errors, built from the constants the validation uses."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from engine_core.fsm import STATUS_NAMES
from service.api import fields
from service.api import validation as v
from service.api.openapi.batch import batch_schemas
from service.api.openapi.parts import (
    CLIENT_ID_PATTERN,
    CLIENT_ORDER_ID_PATTERN,
    DECIMAL_PATTERN,
    DECIMAL_STRING,
    DECIMAL_STRING_OR_NULL,
    FILL_VENUES,
    TIMESTAMP,
    VENUES,
    nullable,
    ref,
)
from service.domain.markets import Market
from service.domain.units import MAX_BASE_UNITS


def build_schemas(markets: Mapping[str, Market]) -> dict[str, Any]:
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
            "oneOf": [ref("Amount"), {"type": "null"}],
            "description": "quantity of the BASE token (SOL in SOL/USDC), buys and sells; "
            "required unless quoteAmount is given",
        },
        "quoteAmount": {
            "oneOf": [ref("Amount"), {"type": "null"}],
            "description": "market orders only, instead of amount: spend (buy) or receive "
            "(sell) this much of the QUOTE token (USDC in SOL/USDC); the engine sizes the base "
            "amount (the most a buy can get for it, the least a sell needs to give for it)",
        },
        "type": {
            "type": ["string", "null"],
            "enum": [*v.ORDER_TYPES, None],
            "default": v.DEFAULT_TYPE,
            "description": "markets not launched yet take sniper orders only",
        },
        "limitPrice": {
            "oneOf": [ref("Amount"), {"type": "null"}],
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
        "required": ["clientId", "symbol", "side"],
        "properties": order_fields,
        "allOf": [
            {  # exactly one of amount / quoteAmount (null: absent)
                "oneOf": [
                    {
                        "required": ["amount"],
                        "properties": {"amount": ref("Amount"), "quoteAmount": {"type": "null"}},
                    },
                    {
                        "required": ["quoteAmount"],
                        "properties": {"quoteAmount": ref("Amount"), "amount": {"type": "null"}},
                    },
                ],
            },
            {  # quoteAmount: market orders only
                "if": {"required": ["quoteAmount"], "properties": {"quoteAmount": ref("Amount")}},
                "then": {"properties": {"type": {"enum": ["market", None]}}},
            },
            {  # market (the default type): no limitPrice
                "if": {"properties": {"type": {"enum": ["market", None]}}},
                "then": {"properties": {"limitPrice": {"type": "null"}}},
            },
            {  # limit: limitPrice required
                "if": {"properties": {"type": {"const": "limit"}}, "required": ["type"]},
                "then": {"required": ["limitPrice"], "properties": {"limitPrice": ref("Amount")}},
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
            "amount": DECIMAL_STRING,
            "price": DECIMAL_STRING_OR_NULL,
            "quoteAmount": DECIMAL_STRING,
            "fee": DECIMAL_STRING,
            "txHash": {"type": ["string", "null"]},
            "ts": TIMESTAMP,
        },
    }
    leg = {
        "type": "object",
        "required": ["venue", "amountIn", "amountOut", "fee", "priceImpactBps"],
        "properties": {
            "venue": {"type": "string"},
            "amountIn": DECIMAL_STRING,
            "amountOut": DECIMAL_STRING,
            "fee": DECIMAL_STRING,
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
            "amount": DECIMAL_STRING,
            "expectedPrice": DECIMAL_STRING_OR_NULL,
            "quoteAmount": DECIMAL_STRING,
            "priceImpactBps": {"type": "integer"},
            "fees": DECIMAL_STRING,
            "legs": {"type": "array", "items": ref("Leg")},
            "steps": {
                "type": "array",
                "items": {"type": "string", "enum": ["wrap_sol", "swap", "unwrap_sol"]},
            },
            "expiresAt": TIMESTAMP,
            "minOut": {
                **DECIMAL_STRING,
                "description": "sell: least quote accepted (orders' route)",
            },
            "maxIn": {**DECIMAL_STRING, "description": "buy: most quote spent (orders' route)"},
        },
    }
    order_props: dict[str, Any] = {
        "id": {"type": "string", "format": "uuid"},
        "clientId": {"type": "string"},
        "clientOrderId": {"type": ["string", "null"]},
        "symbol": {"type": "string"},
        "side": {"type": "string", "enum": list(v.SIDES)},
        "type": {"type": "string", "enum": list(v.ORDER_TYPES)},
        "timeInForce": {  # null for market orders, which have none
            "type": ["string", "null"],
            "enum": [*v.TIME_IN_FORCE, None],
        },
        "amount": {
            **DECIMAL_STRING_OR_NULL,
            "description": "base tokens; a quoteAmount order's is what it filled (null before)",
        },
        "quoteTarget": {
            **DECIMAL_STRING_OR_NULL,
            "description": "the quoteAmount the order was placed with (null: an amount order)",
        },
        "limitPrice": DECIMAL_STRING_OR_NULL,
        "expiresAt": nullable(TIMESTAMP),
        "slippageBps": {"type": "integer"},
        "status": ref("Status"),
        "filled": DECIMAL_STRING,
        "remaining": {
            **DECIMAL_STRING_OR_NULL,
            "description": "amount - filled, whatever the status (null while amount is)",
        },
        "avgPrice": DECIMAL_STRING_OR_NULL,
        "quoteAmount": DECIMAL_STRING_OR_NULL,
        "fees": DECIMAL_STRING_OR_NULL,
        "route": {
            "oneOf": [ref("Quote"), {"type": "null"}],
            "description": "the plan of the latest attempt",
        },
        "fills": {"type": "array", "items": ref("Fill")},
        "txHash": {"type": ["string", "null"]},
        "attempts": {"type": "integer", "minimum": 0},
        "failureReason": {"type": ["string", "null"]},
        "createdAt": TIMESTAMP,
        "updatedAt": TIMESTAMP,
        "seq": {"type": "integer", "minimum": 1, "description": "the last event's number"},
    }
    order = {"type": "object", "required": list(order_props), "properties": order_props}
    event: dict[str, Any] = {
        "type": "object",
        "description": "a status change, with the payload fields stored with it",
        "required": ["seq", "eventId", "status", "ts"],
        "properties": {
            "seq": {"type": "integer", "minimum": 1},
            "eventId": {"type": "integer"},
            "status": ref("Status"),
            "ts": TIMESTAMP,
            "filled": DECIMAL_STRING_OR_NULL,
            "remaining": DECIMAL_STRING_OR_NULL,
            "avgPrice": DECIMAL_STRING_OR_NULL,
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
            "price": DECIMAL_STRING,
            "baseReserve": DECIMAL_STRING,
            "quoteReserve": DECIMAL_STRING,
            "feeBps": {"type": "integer"},
        },
    }
    market = {
        "type": "object",
        "required": ["symbol", "base", "quote", "launched", "referencePrice", "venues"],
        "properties": {
            "symbol": {"type": "string"},
            "base": ref("Token"),
            "quote": ref("Token"),
            "launched": {"type": "boolean"},
            "referencePrice": DECIMAL_STRING,
            "venues": {"type": "array", "items": ref("Venue")},
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
            "unownedShards": {
                "description": "shards no live worker holds by lease (status `degraded`, still"
                " 200): their orders wait until a worker takes them",
                "type": "array",
                "items": {"type": "integer"},
            },
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
            "venue": {
                "type": "string",
                "enum": list(VENUES),
                "description": "raydium opens a constant-product pool; meteora a DLMM pool of"
                " equal bins around the price quoteReserve/baseReserve",
            },
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
        **batch_schemas(),  # NewOrderBatch, BatchResults
        "Order": order,
        "OrderList": {
            "type": "object",
            "required": ["orders", "nextCursor"],
            "properties": {
                "orders": {"type": "array", "items": ref("Order")},
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
        "OrderUpdate": {
            "type": "object",
            "description": (
                "a WebSocket message of the relay (/ws, /api/orders/execute): "
                '{"event": "order:update", "payload": <this>}'
            ),
            "required": ["id", "status", "seq", "eventId", "cursor", "ts"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                **{k: v for k, v in event["properties"].items() if k != "ts"},
                "cursor": {
                    "type": "string",
                    "description": (
                        "opaque resume point: reconnect with /ws?clientId=C&cursor=<the last "
                        "message's cursor> to be replayed exactly the client's events after "
                        "it, then live ones (no gap, no duplicate, across relay restarts). "
                        "cursor= (empty) replays every stored event. On an order socket it "
                        "is that event's own position"
                    ),
                },
                "ts": TIMESTAMP,
            },
        },
        "EventList": {
            "type": "object",
            "required": ["events"],
            "properties": {"events": {"type": "array", "items": ref("Event")}},
        },
        "Token": token,
        "Venue": venue,
        "Market": market,
        "MarketList": {
            "type": "object",
            "required": ["markets"],
            "properties": {"markets": {"type": "array", "items": ref("Market")}},
        },
        "Health": health,
        "Error": error,
        "SimLaunch": sim_launch,
        "SimPrice": sim_price,
    }
