"""Slippage bounds and average prices."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_core.fills import avg_price_x64, slippage_bound, within_slippage


def test_slippage_bound_sell_floors_minimum_out():
    # 1000 * 9950 / 10000 = 995 exactly; 1001 * 0.995 = 995.995 -> 995
    assert slippage_bound("sell", 1000, 50) == 995
    assert slippage_bound("sell", 1001, 50) == 995


def test_slippage_bound_buy_ceils_maximum_in():
    # 1000 * 1.005 = 1005 exactly; 1001 * 1.005 = 1006.005 -> 1007
    assert slippage_bound("buy", 1000, 50) == 1005
    assert slippage_bound("buy", 1001, 50) == 1007


def test_slippage_bound_zero_bps_is_expected():
    assert slippage_bound("sell", 12345, 0) == 12345
    assert slippage_bound("buy", 12345, 0) == 12345


@pytest.mark.parametrize(
    ("side", "amount", "bps", "exc"),
    [
        ("hold", 1, 1, ValueError),
        ("sell", -1, 1, ValueError),
        ("buy", 1, 10_001, ValueError),
        ("buy", 1.0, 1, TypeError),
    ],
)
def test_slippage_bound_bad_input_raises(side, amount, bps, exc):
    with pytest.raises(exc):
        slippage_bound(side, amount, bps)


def test_within_slippage_sell_needs_at_least_bound():
    assert within_slippage("sell", 995, 995)
    assert not within_slippage("sell", 994, 995)


def test_within_slippage_buy_needs_at_most_bound():
    assert within_slippage("buy", 1005, 1005)
    assert not within_slippage("buy", 1006, 1005)


def test_avg_price_x64_is_floor_of_ratio_in_q64():
    assert avg_price_x64(3, 2) == 3 * 2**63
    assert avg_price_x64(1, 3) == 2**64 // 3
    assert avg_price_x64(2**70, 1) == 2**134


def test_avg_price_x64_zero_base_raises_value_error():
    with pytest.raises(ValueError):
        avg_price_x64(1, 0)


@given(st.integers(0, 2**64), st.integers(0, 5000))
def test_slippage_bound_expected_is_always_within(expected, bps):
    assert within_slippage("sell", expected, slippage_bound("sell", expected, bps))
    assert within_slippage("buy", expected, slippage_bound("buy", expected, bps))
