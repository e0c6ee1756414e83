"""Decimal strings at the edge, integer base units inside."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.units import UnitsError, from_base_units, price_string, to_base_units


def test_to_base_units_sol_and_usdc_worked_examples() -> None:
    assert to_base_units("1.5", 9, "amount") == 1_500_000_000
    assert to_base_units(1.5, 9, "amount") == 1_500_000_000
    assert to_base_units("150.25", 6, "limitPrice") == 150_250_000
    assert to_base_units(2, 6, "amount") == 2_000_000


@pytest.mark.parametrize("value", ["0", "-1", "1.0000000001", "abc", "NaN", True, None, [1]])
def test_to_base_units_bad_value_raises_naming_field(value: object) -> None:
    with pytest.raises(UnitsError) as e:
        to_base_units(value, 9, "amount")
    assert e.value.field == "amount"


@given(st.integers(min_value=1, max_value=2**62), st.integers(min_value=0, max_value=18))
def test_base_units_round_trip_exact(units: int, decimals: int) -> None:
    text = from_base_units(units, decimals)
    assert text is not None and "E" not in text
    assert to_base_units(text, decimals, "amount") == units


def test_price_string_quote_per_whole_base_token() -> None:
    # 1.5 SOL (9 decimals) for 225 USDC (6 decimals) -> 150 USDC per SOL
    assert price_string(225_000_000, 1_500_000_000, 9, 6) == "150"
    assert Decimal(price_string(1, 3, 0, 0) or "0") == Decimal("0.3333")
    assert price_string(5, 0, 9, 6) is None
