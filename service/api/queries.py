"""Validation of the query strings: GET /orders (list and its page cursor) and GET /quote.

Pure functions, no I/O; every violation raises ApiError (400) naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from engine_core.fsm import STATUS_NAMES
from service.api.fields import (
    ORDER_ID_RE,
    as_utc,
    check_choice,
    check_client_id,
    check_symbol,
    check_units,
    missing,
    show,
)
from service.api.validation import SIDES
from service.domain.markets import Market
from service.errors import bad_request

LIST_PARAMS: tuple[str, ...] = ("clientId", "status", "limit", "cursor")
QUOTE_PARAMS: tuple[str, ...] = ("symbol", "side", "amount", "quoteAmount")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_LIMIT = re.compile(r"[0-9]{1,6}")
_MAX_CURSOR_CHARS = 256


@dataclass(frozen=True)
class ListQuery:
    client_id: str | None
    status: str | None
    limit: int
    cursor: tuple[datetime, str] | None


def _params(params: Mapping[str, object], allowed: tuple[str, ...]) -> dict[str, str]:
    """Unknown names -> 400; a blank value (`?status=`) counts as absent."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if name not in allowed:
            field = name if isinstance(name, str) else str(name)
            raise bad_request(field, f"unknown parameter {show(field)}", code="unknown_field")
        if not isinstance(value, str):
            raise bad_request(name, f"{name} must be given once, as a single value")
        if value != "":
            out[name] = value
    return out


def encode_cursor(created_at: datetime, order_id: str) -> str:
    """An opaque page cursor: urlsafe base64 (no padding) of '<created_at UTC>|<id>'."""
    text = f"{as_utc(created_at).isoformat()}|{order_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = "cursor") -> tuple[datetime, str]:
    bad = bad_request(field, "cursor is not a cursor this server gave out")
    if len(cursor) > _MAX_CURSOR_CHARS:
        raise bad
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise bad from None
    stamp, sep, order_id = text.partition("|")
    if not sep or not ORDER_ID_RE.fullmatch(order_id):
        raise bad
    try:
        order_id = str(uuid.UUID(order_id))  # the list query compares it as a uuid
    except ValueError:
        raise bad from None
    try:
        created_at = datetime.fromisoformat(stamp)
    except ValueError:
        raise bad from None
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise bad
    try:
        return created_at.astimezone(UTC), order_id
    except (OverflowError, ValueError):
        raise bad from None


def parse_list_query(params: Mapping[str, str]) -> ListQuery:
    """GET /orders?clientId=&status=&limit=&cursor="""
    p = _params(params, LIST_PARAMS)
    client_id = check_client_id(p["clientId"]) if "clientId" in p else None
    status = check_choice(p["status"], "status", STATUS_NAMES) if "status" in p else None
    limit = DEFAULT_LIMIT
    if "limit" in p:
        text = p["limit"]
        if not _LIMIT.fullmatch(text) or not 1 <= int(text) <= MAX_LIMIT:
            raise bad_request("limit", f"limit must be an integer between 1 and {MAX_LIMIT}")
        limit = int(text)
    cursor = decode_cursor(p["cursor"]) if "cursor" in p else None
    return ListQuery(client_id=client_id, status=status, limit=limit, cursor=cursor)


def parse_quote_query(
    params: Mapping[str, str], markets: Mapping[str, Market]
) -> tuple[str, str, int | None, int | None]:
    """GET /quote?symbol=&side=&amount= (or &quoteAmount= instead of amount) -> (symbol,
    side, amount in base-token base units, quoteAmount in quote-token base units), one of
    the last two None.

    Same rules as the order body for these fields. Whether the market is launched is not
    checked here: the quote resource knows the live state (POST /sim/launch).
    """
    p = _params(params, QUOTE_PARAMS)
    for name in ("symbol", "side"):
        if name not in p:
            raise missing(name)
    if "amount" in p and "quoteAmount" in p:
        raise bad_request("quoteAmount", "give amount or quoteAmount, not both")
    if "amount" not in p and "quoteAmount" not in p:
        raise missing("amount")
    market = check_symbol(p["symbol"], markets)
    side = check_choice(p["side"], "side", SIDES)
    if "quoteAmount" in p:
        quote = check_units(p["quoteAmount"], market.quote.decimals, "quoteAmount")
        return market.symbol, side, None, quote
    amount = check_units(p["amount"], market.base.decimals, "amount")
    return market.symbol, side, amount, None
