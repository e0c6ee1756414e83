"""Amounts and prices as decimal strings (engine_core.render), against the plain-Python
definitions they replaced in service/domain/units.py."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine_core.render import from_base_units, price_string


def ref_from_base_units(units: int | None, decimals: int) -> str | None:
    if units is None:
        return None
    if decimals <= 0:
        return str(units * 10**-decimals)
    whole, frac = divmod(abs(units), 10**decimals)
    sign = "-" if units < 0 else ""
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{str(frac).rjust(decimals, '0').rstrip('0')}"


def ref_price_string(
    quote_units: int, base_units: int, base_decimals: int, quote_decimals: int, extra: int = 4
) -> str | None:
    if base_units <= 0:
        return None
    digits = quote_decimals + extra
    scale = base_decimals - quote_decimals + digits
    num = quote_units * 10**scale if scale >= 0 else quote_units
    den = base_units if scale >= 0 else base_units * 10**-scale
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2):
        q += 1
    return ref_from_base_units(q, digits)


def test_from_base_units_examples():
    assert from_base_units(1_500_000_000, 9) == "1.5"
    assert from_base_units(0, 9) == "0"
    assert from_base_units(1, 9) == "0.000000001"
    assert from_base_units(-1, 6) == "-0.000001"
    assert from_base_units(-2_000_000, 6) == "-2"
    assert from_base_units(10**18, 18) == "1"
    assert from_base_units(2**63 - 1, 18) == "9.223372036854775807"
    assert from_base_units(-(2**63 - 1), 1) == "-922337203685477580.7"
    assert from_base_units(2**63, 9) == "9223372036.854775808"  # past 64 bits
    assert from_base_units(-(2**63), 9) == "-9223372036.854775808"
    assert from_base_units(12, 0) == "12"
    assert from_base_units(12, -2) == "1200"
    assert from_base_units(123, 20) == "0.00000000000000000123"
    assert from_base_units(None, 6) is None


@given(
    st.one_of(
        st.integers(-(2**63) - 5, 2**63 + 5),
        st.integers(-(10**40), 10**40),
        st.sampled_from([0, 1, -1, 10, 100, 10**9, 2**63 - 1, -(2**63 - 1), 2**63, -(2**63)]),
    ),
    st.integers(-3, 24),
)
def test_from_base_units_is_the_python_definition(units: int, decimals: int) -> None:
    assert from_base_units(units, decimals) == ref_from_base_units(units, decimals)


def test_price_string_examples():
    # 1 SOL (9 decimals) for 150.5 USDC (6 decimals): 150.5 to 10 digits
    assert price_string(150_500_000, 10**9, 9, 6) == "150.5"
    assert price_string(1, 3, 0, 0, 0) == "0"  # 0.333 -> 0
    assert price_string(1, 2, 0, 0, 0) == "0"  # half to even
    assert price_string(3, 2, 0, 0, 0) == "2"
    assert price_string(5, 0, 9, 6) is None
    assert price_string(5, -1, 9, 6) is None


@given(
    st.integers(0, 10**30),
    st.integers(-5, 10**30),
    st.integers(0, 18),
    st.integers(0, 18),
    st.integers(0, 6),
)
def test_price_string_is_the_python_definition(
    quote: int, base: int, base_dec: int, quote_dec: int, extra: int
) -> None:
    assert price_string(quote, base, base_dec, quote_dec, extra) == ref_price_string(
        quote, base, base_dec, quote_dec, extra
    )
