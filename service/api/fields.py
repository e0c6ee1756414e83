"""Checks of single input fields, shared by the order body and the query strings.

Pure functions, no I/O. Each raises ApiError (400) naming the field exactly as the client
wrote it; amounts and prices leave as integer base units.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation, localcontext

from service.domain.markets import Market
from service.domain.units import MAX_BASE_UNITS, UnitsError, to_base_units
from service.errors import ApiError, bad_request

MAX_SLIPPAGE_BPS = 5000

CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_.:@-]{1,64}")
CLIENT_ORDER_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
ORDER_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# A decimal number as a string: digits, optional fraction, optional exponent. No
# whitespace, underscores, NaN or Infinity (which Decimal() would otherwise accept).
DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def show(value: object) -> str:
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


def missing(field: str) -> ApiError:
    return bad_request(field, f"{field} is required", code="missing_field")


def iso_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def as_utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def check_pattern(value: object, field: str, pattern: re.Pattern[str], allowed: str) -> str:
    if not isinstance(value, str):
        raise bad_request(field, f"{field} must be a string, not {show(value)}")
    if not pattern.fullmatch(value):
        raise bad_request(field, f"{field} must be 1..64 characters of {allowed}")
    return value


def check_client_id(value: object, field: str = "clientId") -> str:
    return check_pattern(value, field, CLIENT_ID_RE, "A-Z a-z 0-9 _ . : @ -")


def check_client_order_id(value: object, field: str = "clientOrderId") -> str:
    return check_pattern(value, field, CLIENT_ORDER_ID_RE, "A-Z a-z 0-9 _ . : -")


def check_choice(value: object, field: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise bad_request(field, f"{field} must be one of {', '.join(choices)}, not {show(value)}")
    return value


def check_symbol(value: object, markets: Mapping[str, Market], field: str = "symbol") -> Market:
    if not isinstance(value, str):
        raise bad_request(field, f"{field} must be a string, not {show(value)}")
    market = markets.get(value)
    if market is None:
        known = ", ".join(sorted(markets))
        raise bad_request(field, f"unknown symbol {show(value)}; known: {known}")
    return market


def check_units(value: object, decimals: int, field: str) -> int:
    """A JSON number or decimal string in token units -> integer base units, exactly.

    Checks exactness, sign and size itself before handing over to units.to_base_units, so
    no input can be rounded by the decimal context or blow up (huge ints or exponents).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise bad_request(field, f"{field} must be a decimal number or string, not {show(value)}")
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
        if not DECIMAL_RE.fullmatch(value):
            raise bad_request(field, f"{field} is not a decimal number: {show(value)}")
        text = value
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError):
        raise bad_request(field, f"{field} is not a decimal number: {show(value)}") from None
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


def check_expires_at(value: object, now: datetime, field: str = "expiresAt") -> datetime:
    if not isinstance(value, str):
        raise bad_request(field, f"{field} must be an ISO-8601 string, not {show(value)}")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(field, f"{field} is not an ISO-8601 date-time: {show(value)}") from None
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise bad_request(field, f"{field} must carry a timezone (e.g. a trailing Z)")
    try:
        dt = dt.astimezone(UTC)
    except (OverflowError, ValueError):
        raise bad_request(field, f"{field} is out of range") from None
    if dt <= as_utc(now):
        raise bad_request(field, f"{field} must be in the future")
    return dt


def check_slippage(value: object, field: str = "slippageBps") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(field, f"{field} must be an integer, not {show(value)}")
    if not 0 <= value <= MAX_SLIPPAGE_BPS:
        raise bad_request(field, f"{field} must be between 0 and {MAX_SLIPPAGE_BPS}")
    return value


# --------------------------------------------------------------------------- POST /orders
