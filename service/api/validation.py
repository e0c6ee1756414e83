"""Validation of the order body (POST /orders/execute): the fields, their defaults and
the rules between them, and the request hash behind idempotency.

Pure functions, no I/O. Every violation raises ApiError (400) naming the field exactly as
the client wrote it. Amounts and prices leave here as integer base units.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import orjson

from service.api.fields import (
    check_choice,
    check_client_id,
    check_client_order_id,
    check_expires_at,
    check_slippage,
    check_symbol,
    check_units,
    iso_utc,
    missing,
    show,
)
from service.domain.markets import Market
from service.domain.units import from_base_units
from service.errors import ApiError, bad_request

ORDER_FIELDS: tuple[str, ...] = (
    "clientId",
    "symbol",
    "side",
    "amount",
    "quoteAmount",
    "type",
    "limitPrice",
    "timeInForce",
    "expiresAt",
    "slippageBps",
    "clientOrderId",
)
SIDES: tuple[str, ...] = ("buy", "sell")
ORDER_TYPES: tuple[str, ...] = ("market", "limit", "sniper")
TIME_IN_FORCE: tuple[str, ...] = ("GTC", "IOC", "FOK", "GTD")
DEFAULT_TYPE = "market"
DEFAULT_TIME_IN_FORCE = "GTC"
DEFAULT_SLIPPAGE_BPS = 50


IDEMPOTENCY_HEADER = "Idempotency-Key"

_HASH_VERSION = "order-request-v1"


@dataclass(frozen=True)
class NewOrder:
    """A validated order request; amounts in integer base units."""

    client_id: str
    client_order_id: str | None
    symbol: str
    side: str  # "buy" | "sell"
    type: str  # "market" | "limit" | "sniper"
    time_in_force: str  # "GTC" | "IOC" | "FOK" | "GTD"
    amount: int | None  # base units of the BASE token (None: a quote-denominated order)
    limit_price: int | None  # quote-token base units per ONE WHOLE base token
    expires_at: datetime | None  # tz-aware UTC
    slippage_bps: int
    idempotency_header: str | None = None  # the Idempotency-Key header, when given
    # market orders only, instead of `amount`: quote-token base units to spend (buy) or
    # receive (sell); the worker sizes the base amount
    quote_amount: int | None = None

    @property
    def idem_key(self) -> str | None:
        """The idempotency key: clientOrderId, else the Idempotency-Key header, else None."""
        return self.client_order_id or self.idempotency_header

    def canonical(self) -> dict[str, object]:
        """The request with defaults applied and values normalized, minus the key itself
        (`quoteAmount` only when given: the hashes of base-amount orders stay as they were)."""
        out: dict[str, object] = {
            "v": _HASH_VERSION,
            "clientId": self.client_id,
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "timeInForce": self.time_in_force,
            "amount": self.amount,
            "limitPrice": self.limit_price,
            "expiresAt": iso_utc(self.expires_at) if self.expires_at is not None else None,
            "slippageBps": self.slippage_bps,
        }
        if self.quote_amount is not None:
            out["quoteAmount"] = self.quote_amount
        return out

    def request_hash(self) -> str:
        """sha256 hex of the canonical request.

        Equal for requests that mean the same order however they were written ("1.5" or
        1.5 or "1.50", key order, defaults given or omitted, "Z" or "+00:00"); different
        when any field differs. The idempotency key (clientOrderId / header) is left out:
        it is what the hash is looked up by, so an identical retry that carries the key
        in the other place still counts as identical.
        """
        canonical = self.canonical()
        # orjson writes what json.dumps(sort_keys, compact) writes for ASCII text (all the
        # validated fields are; anything else, or an int past 64 bits, takes the stdlib)
        try:
            data = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            data = b"\x80"
        if not data.isascii():
            data = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(data).hexdigest()


def parse_order(
    body: object,
    markets: Mapping[str, Market],
    *,
    now: datetime,
    idempotency_key: str | None = None,
    max_amount: int | None = None,
) -> NewOrder:
    """The order body (decoded JSON) -> NewOrder, or ApiError 400 naming the field."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the request body must be a JSON object")
    for key in body:
        if key not in ORDER_FIELDS:
            name = key if isinstance(key, str) else str(key)
            raise bad_request(name, f"unknown field {show(name)}", code="unknown_field")

    # `null` for an optional field means absent
    def get(name: str) -> object:
        return body.get(name)

    raw = get("clientId")
    if raw is None:
        raise missing("clientId")
    client_id = check_client_id(raw)

    raw = get("symbol")
    if raw is None:
        raise missing("symbol")
    market = check_symbol(raw, markets)

    raw = get("side")
    if raw is None:
        raise missing("side")
    side = check_choice(raw, "side", SIDES)

    raw = get("type")
    order_type = DEFAULT_TYPE if raw is None else check_choice(raw, "type", ORDER_TYPES)
    if not market.launched and order_type != "sniper":
        raise bad_request(
            "symbol", f"market {market.symbol} is not launched yet; only sniper orders"
        )

    raw = get("timeInForce")
    tif = DEFAULT_TIME_IN_FORCE if raw is None else check_choice(raw, "timeInForce", TIME_IN_FORCE)

    raw = get("slippageBps")
    slippage_bps = DEFAULT_SLIPPAGE_BPS if raw is None else check_slippage(raw)

    raw = get("clientOrderId")
    client_order_id = None if raw is None else check_client_order_id(raw)

    header: str | None = None
    if idempotency_key is not None:
        header = check_client_order_id(idempotency_key, IDEMPOTENCY_HEADER)
        if client_order_id is not None and client_order_id != header:
            raise bad_request(
                IDEMPOTENCY_HEADER,
                f"{IDEMPOTENCY_HEADER} header differs from clientOrderId; send one or make "
                "them equal",
            )

    raw, raw_quote = get("amount"), get("quoteAmount")
    amount: int | None = None
    quote_amount: int | None = None
    if raw_quote is not None:
        if order_type != "market":
            raise bad_request("quoteAmount", "quoteAmount is only allowed on a market order")
        if raw is not None:
            raise bad_request("quoteAmount", "send amount or quoteAmount, not both")
        quote_amount = check_units(raw_quote, market.quote.decimals, "quoteAmount")
    elif raw is None:
        raise bad_request(
            "amount", "amount is required (or quoteAmount on a market order)", code="missing_field"
        )
    else:
        amount = check_units(raw, market.base.decimals, "amount")
    if max_amount is not None and amount is not None and amount > max_amount:
        limit_text = from_base_units(max_amount, market.base.decimals)
        raise bad_request(
            "amount", f"amount exceeds the maximum of {limit_text} {market.base.symbol}"
        )

    raw = get("limitPrice")
    limit_price: int | None = None
    if order_type == "market":
        if raw is not None:
            raise bad_request("limitPrice", "limitPrice is not allowed on a market order")
    elif raw is None:
        if order_type == "limit":
            raise missing("limitPrice")
    else:
        limit_price = check_units(raw, market.quote.decimals, "limitPrice")

    raw = get("expiresAt")
    expires_at: datetime | None = None
    if tif == "GTD":
        if raw is None:
            raise missing("expiresAt")
        expires_at = check_expires_at(raw, now)
    elif raw is not None:
        raise bad_request("expiresAt", "expiresAt is only allowed with timeInForce GTD")

    return NewOrder(
        client_id=client_id,
        client_order_id=client_order_id,
        symbol=market.symbol,
        side=side,
        type=order_type,
        time_in_force=tif,
        amount=amount,
        limit_price=limit_price,
        expires_at=expires_at,
        slippage_bps=slippage_bps,
        idempotency_header=header,
        quote_amount=quote_amount,
    )


# --------------------------------------------------------------------------- query strings
