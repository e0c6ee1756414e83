"""CpmmPool: worked examples computed by hand, Raydium's swap_base_input as a reference for
sells (the trade fee off the input, the default), and properties of x*y=k."""

from __future__ import annotations

import pickle
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_core.amm import CpmmPool, InsufficientLiquidity

Q64 = 2**64
SOL = 10**9
USDC = 10**6

reserves = st.integers(min_value=10**3, max_value=10**16)
fees = st.integers(min_value=0, max_value=300)


@st.composite
def pool_and_amount(draw, max_frac: float = 0.5):
    x = draw(reserves)
    y = draw(reserves)
    fee = draw(fees)
    amount = draw(st.integers(min_value=1, max_value=max(1, int(x * max_frac))))
    return CpmmPool(x, y, fee), amount


# -- worked examples --


def test_cpmm_quote_sell_small_pool_matches_hand_computation():
    # gross = floor(2000*100/1100) = 181; fee = ceil(181*25/10000) = 1; out = 180
    assert CpmmPool(1000, 2000, 25).quote_sell(100) == (180, 1)


def test_cpmm_quote_buy_small_pool_matches_hand_computation():
    # net = ceil(2000*100/900) = 223; in = ceil(223*10000/9975) = 224; fee = 1
    assert CpmmPool(1000, 2000, 25).quote_buy(100) == (224, 1)


def test_cpmm_quote_sell_one_sol_fee_on_output_matches_hand_computation():
    # 200000 SOL / 30M USDC: gross = floor(3e13 * 1e9 / 200001e9) = 149999250
    # fee = ceil(149999250 * 25 / 10000) = ceil(374998.125) = 374999
    pool = CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25, "output")
    assert pool.quote_sell(1 * SOL) == (149_999_250 - 374_999, 374_999)


def test_cpmm_quote_sell_one_sol_fee_on_input_matches_hand_computation():
    # Raydium's default: fee = ceil(1e9 * 25 / 10000) = 2500000 lamports; 997500000 swapped:
    # out = floor(3e13 * 997.5e6 / (2e14 + 997.5e6)) = 149624253; reported fee (in quote):
    # what the fee cost = 149999250 (out with no fee) - 149624253 = 374997
    pool = CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25, "input")
    assert CpmmPool(1, 1).fee_mode == "input"  # the default (see CpmmPool)
    assert pool.quote_sell(1 * SOL) == (149_624_253, 374_997)


@given(reserves, reserves, fees, st.integers(min_value=1, max_value=10**15))
def test_cpmm_sell_matches_raydium_swap_base_input(x, y, fee, dx):
    """raydium-cp-swap CurveCalculator::swap_base_input: trade_fee = ceil(in * rate / 1e6)
    (rate in millionths: bps * 100), then the constant product on in - trade_fee, floored."""
    trade_fee = -(-dx * fee * 100 // 1_000_000)
    net = dx - trade_fee
    want = y * net // (x + net)
    got, reported = CpmmPool(x, y, fee, "input").quote_sell(dx)
    assert got == want
    assert reported == y * dx // (x + dx) - want


def test_cpmm_quote_buy_one_sol_matches_hand_computation():
    # net = ceil(3e13 * 1e9 / 199999e9) = ceil(150000750.0037...) = 150000751
    # in = ceil(150000751 * 10000 / 9975) = ceil(150376692.73...) = 150376693
    pool = CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25)
    assert pool.quote_buy(1 * SOL) == (150_376_693, 150_376_693 - 150_000_751)


def test_cpmm_sell_applies_reserves_fee_stays_in_pool():
    pool = CpmmPool(1000, 2000, 25)
    assert pool.sell(100) == (180, 1)
    assert (pool.base_reserve, pool.quote_reserve) == (1100, 1820)


def test_cpmm_buy_applies_reserves_fee_stays_in_pool():
    pool = CpmmPool(1000, 2000, 25)
    assert pool.buy(100) == (224, 1)
    assert (pool.base_reserve, pool.quote_reserve) == (900, 2224)


def test_cpmm_spot_price_x64_is_quote_over_base_in_q64():
    assert CpmmPool(1000, 2000).spot_price_x64() == 2 * Q64
    assert CpmmPool(3, 1).spot_price_x64() == Q64 // 3


def test_cpmm_quote_buy_exact_in_small_pool_matches_hand_computation():
    # fee = ceil(224*25/10000) = 1; net = 223; out = floor(1000*223/2223) = 100
    assert CpmmPool(1000, 2000, 25).quote_buy_exact_in(224) == (100, 1)


def test_cpmm_zero_amount_gives_zero():
    pool = CpmmPool(1000, 2000)
    assert pool.quote_sell(0) == (0, 0)
    assert pool.quote_buy(0) == (0, 0)


def test_cpmm_tiny_sell_rounds_to_pool():
    # gross = floor(2000*1/1001) = 1, fee = ceil(25/10000) = 1 -> nothing out
    assert CpmmPool(1000, 2000, 25).quote_sell(1) == (0, 1)


# -- errors --


def test_cpmm_buy_whole_reserve_raises_insufficient_liquidity():
    pool = CpmmPool(1000, 2000)
    with pytest.raises(InsufficientLiquidity):
        pool.quote_buy(1000)
    with pytest.raises(InsufficientLiquidity):
        pool.buy(5000)
    assert pool.base_reserve == 1000


def test_cpmm_negative_amount_raises_value_error():
    with pytest.raises(ValueError):
        CpmmPool(1000, 2000).quote_sell(-1)


def test_cpmm_float_amount_raises_type_error():
    with pytest.raises(TypeError):
        CpmmPool(1000, 2000).quote_sell(1.5)


def test_cpmm_huge_amount_raises_insufficient_liquidity():
    with pytest.raises(InsufficientLiquidity):
        CpmmPool(1000, 2000).quote_sell(2**64)
    with pytest.raises(InsufficientLiquidity):
        CpmmPool(2**64 - 10, 2000).quote_sell(100)


@pytest.mark.parametrize(
    "args", [(0, 1, 25), (1, 0, 25), (1, 1, 10_000), (1, 1, -1), (2**64, 1, 25)]
)
def test_cpmm_bad_construction_raises_value_error(args):
    with pytest.raises(ValueError):
        CpmmPool(*args)


# -- state --


def test_cpmm_state_round_trip_keeps_big_ints_as_strings():
    pool = CpmmPool(2**63 + 5, 3 * 10**18, 30)
    state = pool.to_state()
    assert state == {
        "kind": "cpmm",
        "base_reserve": str(2**63 + 5),
        "quote_reserve": str(3 * 10**18),
        "fee_bps": 30,
        "fee_mode": "input",  # the default
    }
    assert CpmmPool.from_state(state).to_state() == state
    old = {k: v for k, v in state.items() if k != "fee_mode"}  # stored before the modes
    assert CpmmPool.from_state(old).fee_mode == "output"  # what it was then: it keeps working
    other = CpmmPool(5, 7, 30, "output")
    assert CpmmPool.from_state(other.to_state()).fee_mode == "output"
    assert pickle.loads(pickle.dumps(pool)) == pool


def test_cpmm_copy_is_independent():
    pool = CpmmPool(1000, 2000)
    twin = pool.copy()
    twin.sell(100)
    assert pool.base_reserve == 1000 and twin.base_reserve == 1100
    assert pool.kind == twin.kind == "cpmm"


# -- properties --


@given(pool_and_amount())
def test_cpmm_sell_k_never_decreases(pa):
    pool, dx = pa
    k = pool.base_reserve * pool.quote_reserve
    pool.sell(dx)
    assert pool.base_reserve * pool.quote_reserve >= k


@given(pool_and_amount())
def test_cpmm_buy_k_never_decreases(pa):
    pool, dy = pa
    k = pool.base_reserve * pool.quote_reserve
    pool.buy(dy)
    assert pool.base_reserve * pool.quote_reserve >= k


@given(pool_and_amount(), st.integers(min_value=1, max_value=10**6))
def test_cpmm_sell_more_in_more_out(pa, extra):
    pool, dx = pa
    assert pool.quote_sell(dx + extra)[0] >= pool.quote_sell(dx)[0]


@given(pool_and_amount(max_frac=0.4), st.integers(min_value=1, max_value=10**6))
def test_cpmm_buy_more_out_more_in(pa, extra):
    pool, dy = pa
    extra = min(extra, pool.base_reserve - 1 - dy)
    try:
        bigger = pool.quote_buy(dy + extra)[0]
    except InsufficientLiquidity:  # the cost no longer fits 64 bits: more than anything
        return
    assert bigger >= pool.quote_buy(dy)[0]


@given(pool_and_amount())
def test_cpmm_rounding_favours_pool(pa):
    pool, a = pa
    x, y, f = pool.base_reserve, pool.quote_reserve, Fraction(pool.fee_bps, 10_000)
    out, _ = CpmmPool(x, y, pool.fee_bps, "output").quote_sell(a)
    assert out <= Fraction(y * a, x + a) * (1 - f)
    out, _ = CpmmPool(x, y, pool.fee_bps, "input").quote_sell(a)
    net = a * (1 - f)  # the fee off the input (exact), then the product
    assert out <= Fraction(y) * net / (x + net)
    cost, _ = pool.quote_buy(a)
    assert cost >= Fraction(y * a, x - a) / (1 - f)


@given(reserves, reserves, fees, st.integers(min_value=1, max_value=10**15))
def test_cpmm_exact_out_inverts_exact_in_within_one_unit(x, y, fee, q):
    pool = CpmmPool(x, y, fee)
    dy, _ = pool.quote_buy_exact_in(q)
    if dy > 0:
        assert pool.quote_buy(dy)[0] <= q
    if dy + 1 < x:
        assert pool.quote_buy(dy + 1)[0] > q


@given(pool_and_amount())
def test_cpmm_quote_equals_applied_swap(pa):
    pool, a = pa
    assert pool.copy().sell(a) == pool.quote_sell(a)
    assert pool.copy().buy(a) == pool.quote_buy(a)


@given(pool_and_amount())
def test_cpmm_sell_then_buy_back_costs_more_than_received(pa):
    pool, a = pa
    received, _ = pool.sell(a)
    paid, _ = pool.buy(a)
    assert paid >= received


@given(
    st.integers(1_000, 10**12),
    st.floats(0.001, 0.999),
    st.sampled_from([0, 1, 25, 300]),
    st.sampled_from(["input", "output"]),
    st.sampled_from(["sell", "buy"]),
    st.floats(0.0001, 0.1),
)
def test_cpmm_step_edges_below_a_quote_unit_are_exact_and_complete(x, ratio, fee, mode, side, f):
    """Where a base unit is worth under a quote unit, breaks lists the edges of the steps
    around `a` (a sell: the smallest input of each output; a buy: the largest output of each
    cost), and every edge between its first and last."""
    pool = CpmmPool(x, max(10, int(x * ratio)), fee, mode)
    a = max(1, int(x * f))

    def value(n: int) -> int:
        return pool.quote_sell(n)[0] if side == "sell" else pool.quote_buy(n)[0]

    def is_edge(n: int) -> bool:
        if side == "sell":
            return n == 1 or value(n - 1) < value(n)
        return n + 1 < x and value(n + 1) > value(n)

    edges = sorted(set(pool.breaks(side, a)))
    assert edges
    assert all(is_edge(e) for e in edges)
    lo, hi = edges[0], edges[-1]
    if hi - lo <= 20_000:
        assert [n for n in range(lo, hi + 1) if is_edge(n)] == edges
