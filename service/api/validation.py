"""Validation of client input: the order body, the list and quote query strings.

Pure functions, no I/O. Every violation raises ApiError (400) naming the field exactly as
the client wrote it. Amounts and prices leave here as integer base units.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation, localcontext

from engine_core.fsm import STATUS_NAMES
from service.domain.markets import Market
from service.domain.units import MAX_BASE_UNITS, UnitsError, from_base_units, to_base_units
from service.errors import ApiError, bad_request

ORDER_FIELDS: tuple[str, ...] = (
    "clientId",
    "symbol",
    "side",
    "amount",
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
MAX_SLIPPAGE_BPS = 5000

LIST_PARAMS: tuple[str, ...] = ("clientId", "status", "limit", "cursor")
QUOTE_PARAMS: tuple[str, ...] = ("symbol", "side", "amount")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200

IDEMPOTENCY_HEADER = "Idempotency-Key"

_CLIENT_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,64}")
_CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_ORDER_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# A decimal number as a string: digits, optional fraction, optional exponent. No
# whitespace, underscores, NaN or Infinity (which Decimal() would otherwise accept).
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_LIMIT = re.compile(r"[0-9]{1,6}")
_MAX_CURSOR_CHARS = 256
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
    amount: int  # base units of the BASE token
    limit_price: int | None  # quote-token base units per ONE WHOLE base token
    expires_at: datetime | None  # tz-aware UTC
    slippage_bps: int
    idempotency_header: str | None = None  # the Idempotency-Key header, when given

    @property
    def idem_key(self) -> str | None:
        """The idempotency key: clientOrderId, else the Idempotency-Key header, else None."""
        return self.client_order_id or self.idempotency_header

    def canonical(self) -> dict[str, object]:
        """The request with defaults applied and values normalized, minus the key itself."""
        return {
            "v": _HASH_VERSION,
            "clientId": self.client_id,
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "timeInForce": self.time_in_force,
            "amount": self.amount,
            "limitPrice": self.limit_price,
            "expiresAt": _iso_utc(self.expires_at) if self.expires_at is not None else None,
            "slippageBps": self.slippage_bps,
        }

    def request_hash(self) -> str:
        """sha256 hex of the canonical request.

        Equal for requests that mean the same order however they were written ("1.5" or
        1.5 or "1.50", key order, defaults given or omitted, "Z" or "+00:00"); different
        when any field differs. The idempotency key (clientOrderId / header) is left out:
        it is what the hash is looked up by, so an identical retry that carries the key
        in the other place still counts as identical.
        """
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ListQuery:
    client_id: str | None
    status: str | None
    limit: int
    cursor: tuple[datetime, str] | None


# --------------------------------------------------------------------------- helpers


def _show(value: object) -> str:
    """A short, safe rendering of client input for messages (never repr a huge int)."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "…")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value) if -(10**20) < value < 10**20 else "a very large integer"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    return type(value).__name__


def _missing(field: str) -> ApiError:
    return bad_request(field, f"{field} is required", code="missing_field")


def _iso_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _as_utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _pattern(value: object, field: str, pattern: re.Pattern[str], allowed: str) -> str:
    if not isinstance(value, str):
        raise bad_request(field, f"{field} must be a string, not {_show(value)}")
    if not pattern.fullmatch(value):
        raise bad_request(field, f"{field} must be 1..64 characters of {allowed}")
    return value


def _client_id(value: object, field: str = "clientId") -> str:
    return _pattern(value, field, _CLIENT_ID, "A-Z a-z 0-9 _ . : @ -")


def _client_order_id(value: object, field: str = "clientOrderId") -> str:
    return _pattern(value, field, _CLIENT_ORDER_ID, "A-Z a-z 0-9 _ . : -")


def _choice(value: object, field: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise bad_request(field, f"{field} must be one of {', '.join(choices)}, not {_show(value)}")
    return value


def _symbol(value: object, markets: Mapping[str, Market], field: str = "symbol") -> Market:
    if not isinstance(value, str):
        raise bad_request(field, f"{field} must be a string, not {_show(value)}")
    market = markets.get(value)
    if market is None:
        known = ", ".join(sorted(markets))
        raise bad_request(field, f"unknown symbol {_show(value)}; known: {known}")
    return market


def _units(value: object, decimals: int, field: str) -> int:
    """A JSON number or decimal string in token units -> integer base units, exactly.

    Checks exactness, sign and size itself before handing over to units.to_base_units, so
    no input can be rounded by the decimal context or blow up (huge ints or exponents).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise bad_request(field, f"{field} must be a decimal number or string, not {_show(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise bad_request(field, f"{field} must be finite")
        text = repr(value)
    elif isinstance(value, int):
        if value <= 0:
            raise bad_request(field, f"{field} must be greater than 0")
        if value > MAX_BASE_UNITS:
            raise bad_request(field, f"{field} is too large")
        text = str(value)
    else:
        if not _DECIMAL.fullmatch(value):
            raise bad_request(field, f"{field} is not a decimal number: {_show(value)}")
        text = value
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError):
        raise bad_request(field, f"{field} is not a decimal number: {_show(value)}") from None
    sign, digits, exponent = d.as_tuple()
    if not isinstance(exponent, int):  # NaN / Infinity: excluded above, kept for safety
        raise bad_request(field, f"{field} must be finite")
    if not any(digits) or sign:
        raise bad_request(field, f"{field} must be greater than 0")
    # exact number of decimals: strip the trailing zeros of the coefficient
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if exponent + trailing < -decimals:
        raise bad_request(field, f"{field} has more than {decimals} decimals")
    if d.adjusted() >= 19:  # >= 1e19 whole tokens is > MAX_BASE_UNITS base units whatever
        raise bad_request(field, f"{field} is too large")
    try:
        with localcontext() as ctx:
            ctx.prec = 80  # wide enough for 19 integer digits + any token's decimals
            return to_base_units(text, decimals, field)
    except UnitsError as e:
        raise bad_request(e.field, str(e)) from None
    except (ArithmeticError, ValueError):
        raise bad_request(field, f"{field} is not a valid decimal number") from None


def _expires_at(value: object, now: datetime, field: str = "expiresAt") -> datetime:
    if not isinstance(value, str):
        raise bad_request(field, f"{field} must be an ISO-8601 string, not {_show(value)}")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(field, f"{field} is not an ISO-8601 date-time: {_show(value)}") from None
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise bad_request(field, f"{field} must carry a timezone (e.g. a trailing Z)")
    try:
        dt = dt.astimezone(UTC)
    except (OverflowError, ValueError):
        raise bad_request(field, f"{field} is out of range") from None
    if dt <= _as_utc(now):
        raise bad_request(field, f"{field} must be in the future")
    return dt


def _slippage(value: object, field: str = "slippageBps") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(field, f"{field} must be an integer, not {_show(value)}")
    if not 0 <= value <= MAX_SLIPPAGE_BPS:
        raise bad_request(field, f"{field} must be between 0 and {MAX_SLIPPAGE_BPS}")
    return value


# --------------------------------------------------------------------------- POST /orders


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
            raise bad_request(name, f"unknown field {_show(name)}", code="unknown_field")

    # `null` for an optional field means absent
    def get(name: str) -> object:
        return body.get(name)

    raw = get("clientId")
    if raw is None:
        raise _missing("clientId")
    client_id = _client_id(raw)

    raw = get("symbol")
    if raw is None:
        raise _missing("symbol")
    market = _symbol(raw, markets)

    raw = get("side")
    if raw is None:
        raise _missing("side")
    side = _choice(raw, "side", SIDES)

    raw = get("type")
    order_type = DEFAULT_TYPE if raw is None else _choice(raw, "type", ORDER_TYPES)
    if not market.launched and order_type != "sniper":
        raise bad_request(
            "symbol", f"market {market.symbol} is not launched yet; only sniper orders"
        )

    raw = get("timeInForce")
    tif = DEFAULT_TIME_IN_FORCE if raw is None else _choice(raw, "timeInForce", TIME_IN_FORCE)

    raw = get("slippageBps")
    slippage_bps = DEFAULT_SLIPPAGE_BPS if raw is None else _slippage(raw)

    raw = get("clientOrderId")
    client_order_id = None if raw is None else _client_order_id(raw)

    header: str | None = None
    if idempotency_key is not None:
        header = _client_order_id(idempotency_key, IDEMPOTENCY_HEADER)
        if client_order_id is not None and client_order_id != header:
            raise bad_request(
                IDEMPOTENCY_HEADER,
                f"{IDEMPOTENCY_HEADER} header differs from clientOrderId; send one or make "
                "them equal",
            )

    raw = get("amount")
    if raw is None:
        raise _missing("amount")
    amount = _units(raw, market.base.decimals, "amount")
    if max_amount is not None and amount > max_amount:
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
            raise _missing("limitPrice")
    else:
        limit_price = _units(raw, market.quote.decimals, "limitPrice")

    raw = get("expiresAt")
    expires_at: datetime | None = None
    if tif == "GTD":
        if raw is None:
            raise _missing("expiresAt")
        expires_at = _expires_at(raw, now)
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
    )


# --------------------------------------------------------------------------- query strings


def _params(params: Mapping[str, object], allowed: tuple[str, ...]) -> dict[str, str]:
    """Unknown names -> 400; a blank value (`?status=`) counts as absent."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if name not in allowed:
            field = name if isinstance(name, str) else str(name)
            raise bad_request(field, f"unknown parameter {_show(field)}", code="unknown_field")
        if not isinstance(value, str):
            raise bad_request(name, f"{name} must be given once, as a single value")
        if value != "":
            out[name] = value
    return out


def encode_cursor(created_at: datetime, order_id: str) -> str:
    """An opaque page cursor: urlsafe base64 (no padding) of '<created_at UTC>|<id>'."""
    text = f"{_as_utc(created_at).isoformat()}|{order_id}"
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
    if not sep or not _ORDER_ID.fullmatch(order_id):
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
    client_id = _client_id(p["clientId"]) if "clientId" in p else None
    status = _choice(p["status"], "status", STATUS_NAMES) if "status" in p else None
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
) -> tuple[str, str, int]:
    """GET /quote?symbol=&side=&amount= -> (symbol, side, amount in base-token base units).

    Same rules as the order body for these three fields. Whether the market is launched
    is not checked here: the quote resource knows the live state (POST /sim/launch).
    """
    p = _params(params, QUOTE_PARAMS)
    for name in QUOTE_PARAMS:
        if name not in p:
            raise _missing(name)
    market = _symbol(p["symbol"], markets)
    side = _choice(p["side"], "side", SIDES)
    amount = _units(p["amount"], market.base.decimals, "amount")
    return market.symbol, side, amount
