"""Slippage bounds and fill prices, in integers.

side "sell": the quote amount is what the trader receives, the bound a minimum;
side "buy": the quote amount is what the trader pays, the bound a maximum.
"""

from engine_core.amm cimport py_u128, u128

cdef object BPS = 10000


cdef inline bint _is_sell(str side) except -1:
    if side == "sell":
        return True
    if side == "buy":
        return False
    raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")


def slippage_bound(str side, expected_quote, slippage_bps):
    """sell: min quote out = floor(expected * (10000 - bps) / 10000);
    buy: max quote in = ceil(expected * (10000 + bps) / 10000)."""
    if isinstance(expected_quote, float) or isinstance(slippage_bps, float):
        raise TypeError("slippage_bound takes integers")
    if expected_quote < 0:
        raise ValueError("expected_quote must be >= 0")
    if not 0 <= slippage_bps <= BPS:
        raise ValueError("slippage_bps must be in 0 .. 10000")
    if _is_sell(side):
        return expected_quote * (BPS - slippage_bps) // BPS
    return -((-expected_quote * (BPS + slippage_bps)) // BPS)


def within_slippage(str side, actual_quote, bound):
    """sell: actual >= bound; buy: actual <= bound."""
    if _is_sell(side):
        return actual_quote >= bound
    return actual_quote <= bound


def avg_price_x64(quote_units, base_units):
    """Average price, quote units per base unit, Q64.64 (floor)."""
    if isinstance(quote_units, float) or isinstance(base_units, float):
        raise TypeError("avg_price_x64 takes integers")
    if base_units <= 0:
        raise ValueError("base_units must be > 0")
    if quote_units < 0:
        raise ValueError("quote_units must be >= 0")
    cdef u128 q, b
    if quote_units < (1 << 63) and base_units < (1 << 64):
        q = quote_units
        b = base_units
        return py_u128((q << 64) // b)
    return (quote_units << 64) // base_units
