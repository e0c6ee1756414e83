"""Decimal strings at the edge, integer base units inside."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MAX_BASE_UNITS = 2**62  # fits a PostgreSQL bigint with room for sums


class UnitsError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def to_base_units(value: object, decimals: int, field: str) -> int:
    """'1.5' (or 1.5) with 9 decimals -> 1500000000; refuses more decimals than the token has."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UnitsError(field, f"{field} must be a decimal number or string")
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise UnitsError(field, f"{field} is not a decimal number: {text!r}") from None
    if not d.is_finite():
        raise UnitsError(field, f"{field} must be finite")
    scaled = d.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise UnitsError(field, f"{field} has more than {decimals} decimals")
    units = int(scaled)
    if units <= 0:
        raise UnitsError(field, f"{field} must be greater than 0")
    if units > MAX_BASE_UNITS:
        raise UnitsError(field, f"{field} is too large")
    return units


def from_base_units(units: int | None, decimals: int) -> str | None:
    """1500000000 with 9 decimals -> '1.5' (no exponent, no trailing zeros)."""
    if units is None:
        return None
    if decimals <= 0:
        return str(units * 10**-decimals)
    whole, frac = divmod(abs(units), 10**decimals)
    sign = "-" if units < 0 else ""
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{str(frac).rjust(decimals, '0').rstrip('0')}"


def price_string(
    quote_units: int,
    base_units: int,
    base_decimals: int,
    quote_decimals: int,
    extra_digits: int = 4,
) -> str | None:
    """Average price in quote tokens per whole base token, to quote decimals + a few digits
    (half to even), exactly: integer division, no floating or decimal context."""
    if base_units <= 0:
        return None
    digits = quote_decimals + extra_digits
    # price * 10**digits = quote_units * 10**(base_decimals - quote_decimals + digits) / base
    scale = base_decimals - quote_decimals + digits
    num = quote_units * 10**scale if scale >= 0 else quote_units
    den = base_units if scale >= 0 else base_units * 10**-scale
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2):
        q += 1
    return from_base_units(q, digits)


def price_to_raw(value: object, quote_decimals: int, field: str) -> int:
    """A price in quote tokens per whole base token -> integer quote base units per base token."""
    return to_base_units(value, quote_decimals, field)
