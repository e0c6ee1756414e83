"""Decimal strings at the edge, integer base units inside."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from engine_core import render as _render

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


# Amounts and prices as the contract's decimal strings: 1500000000 with 9 decimals -> '1.5'
# (no exponent, no trailing zeros); an average price in quote tokens per whole base token,
# to quote decimals + extra digits, half to even, exactly. Compiled (a worker renders a
# dozen per order): engine_core/render.pyx.
from_base_units = _render.from_base_units
price_string = _render.price_string


def price_to_raw(value: object, quote_decimals: int, field: str) -> int:
    """A price in quote tokens per whole base token -> integer quote base units per base token."""
    return to_base_units(value, quote_decimals, field)
