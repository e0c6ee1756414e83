"""DlmmPool: bins at (1 + s/10000)^k in Q64.64, constant sum in a bin, volatility fee."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_core.amm import InsufficientLiquidity
from engine_core.dlmm import DlmmPool, bin_id_for_price_x64, bin_price_x64
from engine_core.pools import make_pool, pool_from_state
from engine_core.router import best_route

Q64 = 2**64
P1 = 2**64 + 2**64 // 100  # bin 1 at bin_step 100: 1.01 in Q64.64 (floor)


def small_pool(**kw):
    """Bins -2..2 at 1% steps; bin 0 (price exactly 1) holds 500 base + 500 quote. OnlyY
    (fee_mode "quote"): the worked examples below are of it (InputOnly's:
    test_dlmm_input_fee.py)."""
    params = dict(fee_bps=10, variable_fee_control=40_000, max_volatility_accumulator=350_000)
    params["fee_mode"] = "quote"
    params.update(kw)
    return DlmmPool(100, 0, 2, 1000, 1000, **params)


def liquidity(pool):
    """sum of P_k * x_k + y_k over the bins, scaled by 2**64 (exact)."""
    return sum(p * x + (y << 64) for _, x, y, p in pool.bins())


# -- prices --


def test_dlmm_bin_price_zero_is_one():
    assert bin_price_x64(0, 10) == Q64


def test_dlmm_bin_price_one_is_one_plus_step():
    assert bin_price_x64(1, 100) == P1


def test_dlmm_bin_price_two_is_square_of_one():
    assert bin_price_x64(2, 100) == P1 * P1 >> 64


def test_dlmm_bin_price_negative_is_inverse():
    assert bin_price_x64(-1, 100) == (2**128 - 1) // P1


@pytest.mark.parametrize("k", [-2800, 3910])
def test_dlmm_bin_price_out_of_range_raises_value_error(k):
    # 1.01^-2800 < 2**-40 and 1.01^3910 > 2**56: too few bits / no room for amounts
    with pytest.raises(ValueError):
        bin_price_x64(k, 100)


def test_dlmm_bin_price_matches_float_within_1e12():
    for k in (-3000, -1869, -1, 5, 1000, 3432):
        assert abs(bin_price_x64(k, 10) / Q64 / 1.001**k - 1) < 1e-12


@given(st.integers(-2500, 2500), st.sampled_from([1, 10, 20, 25, 100]))
def test_dlmm_bin_id_for_price_brackets_the_price(k, step):
    price = bin_price_x64(k, step)
    assert bin_id_for_price_x64(price, step) == k
    assert bin_id_for_price_x64(price - 1, step) == k - 1


# -- worked examples --


def test_dlmm_sell_inside_one_bin_is_price_times_amount_less_fee():
    # bin 0, price 1: gross = 400; fee = ceil(400 * 0.001) = 1
    assert small_pool().quote_sell(400) == (399, 1)


def test_dlmm_buy_crossing_a_bin_matches_hand_computation():
    # bin 0: 500 base at price 1 -> net 500, in = ceil(500 / 0.999) = 501 (fee 1)
    # bin 1: va = 10000 (one bin from the reference), variable fee
    #   = ceil((10000 * 100)^2 * 40000 / 1e11) = 400000 -> rate 1.4e6 (0.14%)
    #   200 base at 1.01 -> net = ceil(201.99...) = 202, in = ceil(202 / 0.9986) = 203 (fee 1)
    pool = small_pool()
    assert pool.fee_rate(0) == 1_000_000
    assert pool.fee_rate(1) == 1_400_000
    assert pool.quote_buy(700) == (704, 2)
    assert pool.buy(700) == (704, 2)
    assert pool.active_id == 1 and pool.volatility_accumulator == 10_000
    assert [b[1:3] for b in pool.bins()] == [(0, 1000), (0, 1000), (0, 1000), (800, 202), (1000, 0)]
    assert pool.fees_quote == 2
    assert (pool.base_reserve, pool.quote_reserve) == (1800, 2500 + 704)


def test_dlmm_volatility_fee_decays_after_swap():
    pool = small_pool(filter_period=0)  # every swap refreshes the references
    pool.buy(700)
    # next swap: reference = bin 1, vr = 10000 * 5000 / 10000 = 5000
    # variable = ceil((5000 * 100)^2 * 40000 / 1e11) = 100000
    assert pool.fee_rate() == 1_100_000


def test_dlmm_inside_filter_period_references_stay():
    pool = small_pool(filter_period=30, decay_period=600)
    pool.buy(700)
    assert pool.fee_rate() == 1_400_000  # still one bin from reference 0
    pool.set_clock(30)
    assert pool.fee_rate() == 1_100_000  # past the filter period: reference moves, vr halves
    pool.set_clock(600)
    assert pool.fee_rate() == 1_000_000  # past the decay period: vr = 0


def test_dlmm_burst_raises_variable_fee_then_it_decays_with_the_clock():
    # Meteora's defaults: filter 30 s, decay 600 s. Swaps within 30 s keep the references,
    # so each bin crossed adds to the accumulator: the fee climbs through a burst of buys
    pool = DlmmPool(10, 0, 60, 1_000, 1_000, fee_bps=20)
    assert (pool.filter_period, pool.decay_period) == (30, 600)
    base = pool.fee_rate()
    pool.set_clock(1_000)
    rates = []
    for t in range(1_000, 1_010, 2):
        pool.set_clock(t)
        pool.buy(1_500)  # about 1.5 bins each
        rates.append(pool.fee_rate())
    assert rates == sorted(rates) and rates[-1] > rates[0] > base
    # 30 s later: the reference moves to the active bin, the accumulator is halved
    pool.set_clock(1_008 + 30)
    half = pool.fee_rate()
    assert base < half < rates[-1]
    # after decay_period with no swap: the volatility is forgotten, the base fee is back
    pool.set_clock(1_008 + 600)
    assert pool.fee_rate() == base


def test_dlmm_fee_rate_is_capped_at_ten_percent():
    pool = DlmmPool(100, 0, 50, 10, 10, fee_bps=50, variable_fee_control=4_000_000)
    assert pool.fee_rate(40) == 100_000_000


def test_dlmm_quote_buy_exact_in_matches_hand_computation():
    # 704 quote buys bins 0 and 1 as above, exactly 700 base
    assert small_pool().quote_buy_exact_in(704) == (700, 2)


def test_dlmm_sell_past_all_bins_raises_insufficient_liquidity():
    pool = small_pool()
    cap = pool.sell_capacity()
    pool.copy().sell(cap)
    with pytest.raises(InsufficientLiquidity):
        pool.sell(cap + 1)
    assert pool == small_pool()


def test_dlmm_buy_past_all_bins_raises_insufficient_liquidity():
    pool = small_pool()
    assert pool.buy_capacity() == 2500
    with pytest.raises(InsufficientLiquidity):
        pool.quote_buy(2501)


def test_dlmm_spot_is_active_bin_price():
    pool = small_pool()
    assert pool.spot_price_x64() == Q64
    pool.buy(600)
    assert pool.spot_price_x64() == P1


# -- state --


def test_dlmm_state_round_trip_and_pickle():
    pool = small_pool(filter_period=5)
    pool.buy(700)
    pool.set_clock(3)
    state = pool.to_state()
    assert state["kind"] == "dlmm" and state["bins"][0] == [3, "0", "1000"]
    assert pool_from_state(state) == pool
    assert pickle.loads(pickle.dumps(pool)) == pool


def test_dlmm_copy_is_independent():
    pool = small_pool()
    twin = pool.copy()
    twin.sell(100)
    assert pool == small_pool() and twin != pool


def test_dlmm_make_pool_from_markets_params():
    pool = make_pool(
        "dlmm",
        {"bin_step": 10, "active_id": -1869, "bins_each_side": 300,
         "base_per_bin": 400 * 10**9, "quote_per_bin": 61_800 * 10**6, "fee_bps": 20},
    )  # fmt: skip
    assert pool.kind == "dlmm" and pool.fee_bps == 20
    assert 154.4 < pool.spot_price_x64() / Q64 * 1000 < 154.5
    with pytest.raises(ValueError):
        make_pool("dlmm", {"bin_step": 10, "bogus": 1})


def test_dlmm_routes_beside_cpmm():
    from engine_core.amm import CpmmPool

    sol, usdc = 10**9, 10**6
    pools = {
        "raydium": CpmmPool(200_000 * sol, 30_000_000 * usdc, 25),
        "meteora": make_pool(
            "dlmm",
            {
                "bin_step": 10,
                "active_id": -1869,
                "bins_each_side": 300,
                "base_per_bin": 400 * sol,
                "quote_per_bin": 61_800 * usdc,
            },
        ),  # fmt: skip
    }
    route = best_route(pools, "sell", 20_000 * sol)
    assert route.split
    singles = [p.quote_sell(20_000 * sol)[0] for p in pools.values()]
    assert route.quote_amount >= max(singles)


# -- properties --

pools = st.builds(
    DlmmPool,
    bin_step=st.sampled_from([1, 10, 25, 100]),
    active_id=st.integers(-2000, 2000),
    bins_each_side=st.integers(0, 30),
    base_per_bin=st.integers(0, 10**12),
    quote_per_bin=st.integers(0, 10**12),
    fee_bps=st.integers(0, 100),
    variable_fee_control=st.integers(0, 100_000),
    max_volatility_accumulator=st.integers(0, 500_000),
    filter_period=st.just(30),
    fee_mode=st.sampled_from(["input", "quote"]),
)


@given(pools, st.integers(1, 10**13))
def test_dlmm_sell_crossing_bins_equals_sum_of_per_bin_swaps(pool, dx):
    dx = min(dx, pool.sell_capacity())
    single = pool.copy()
    out, fee = single.sell(dx)
    # split dx at the bin edges: each chunk empties one bin (the last one part of it)
    chunks, rem = [], dx
    for k, _x, y, p in reversed(pool.bins()):
        if k > pool.active_id or y == 0 or rem == 0:
            continue
        d = c = -(-(y << 64) // p)
        if pool.fee_mode == "input":  # the bin's whole input has its fee on top
            r = pool.fee_rate(k)
            c += -(-c * r // (10**9 - r))
            if rem == c + 1 and c + 1 - -(-(c + 1) * r // 10**9) == d:
                c += 1  # one unit past it: the bin takes it as fee too (the swap ends there)
        c = min(rem, c)
        chunks.append(c)
        rem -= c
    seq = pool.copy()
    results = [seq.sell(c) for c in chunks]
    assert (sum(r[0] for r in results), sum(r[1] for r in results)) == (out, fee)
    assert seq == single


@given(pools, st.integers(1, 10**13))
def test_dlmm_buy_crossing_bins_equals_sum_of_per_bin_swaps(pool, dy):
    dy = min(dy, pool.buy_capacity())
    single = pool.copy()
    cost, fee = single.buy(dy)
    chunks, rem = [], dy
    for k, x, _y, _p in pool.bins():
        if k < pool.active_id or x == 0 or rem == 0:
            continue
        chunks.append(min(rem, x))
        rem -= chunks[-1]
    seq = pool.copy()
    results = [seq.buy(c) for c in chunks]
    assert (sum(r[0] for r in results), sum(r[1] for r in results)) == (cost, fee)
    assert seq == single


@given(pools, st.integers(1, 10**13), st.sampled_from(["sell", "buy"]))
def test_dlmm_liquidity_never_decreases(pool, amount, side):
    before = liquidity(pool)
    cap = pool.sell_capacity() if side == "sell" else pool.buy_capacity()
    amount = min(amount, cap)
    base0, quote0 = pool.base_reserve, pool.quote_reserve
    if side == "sell":
        out, _ = pool.sell(amount)
        assert (pool.base_reserve, pool.quote_reserve) == (base0 + amount, quote0 - out)
    else:
        cost, _ = pool.buy(amount)
        assert (pool.base_reserve, pool.quote_reserve) == (base0 - amount, quote0 + cost)
    assert liquidity(pool) >= before


@given(pools, st.integers(0, 10**13), st.integers(1, 10**12))
def test_dlmm_more_in_more_out(pool, a, extra):
    cap = pool.sell_capacity()
    a, b = min(a, cap), min(a + extra, cap)
    assert pool.quote_sell(b)[0] >= pool.quote_sell(a)[0]
    cap = pool.buy_capacity()
    a, b = min(a, cap), min(a + extra, cap)
    assert pool.quote_buy(b)[0] >= pool.quote_buy(a)[0]


@settings(max_examples=200)
@given(pools, st.integers(1, 10**14))
def test_dlmm_exact_out_inverts_exact_in_within_one_unit(pool, q):
    try:
        dy, _ = pool.quote_buy_exact_in(q)
    except InsufficientLiquidity:
        return
    assert pool.quote_buy(dy)[0] <= q
    if dy + 1 <= pool.buy_capacity():
        assert pool.quote_buy(dy + 1)[0] > q


@given(pools, st.integers(1, 10**13), st.sampled_from(["sell", "buy"]))
def test_dlmm_quote_equals_applied_swap(pool, amount, side):
    cap = pool.sell_capacity() if side == "sell" else pool.buy_capacity()
    amount = min(amount, cap)
    if side == "sell":
        assert pool.copy().sell(amount) == pool.quote_sell(amount)
    else:
        assert pool.copy().buy(amount) == pool.quote_buy(amount)


@settings(max_examples=200)
@given(
    pools,
    st.lists(
        st.tuples(st.sampled_from(["sell", "buy", "clock"]), st.integers(1, 10**12)),
        max_size=8,
    ),
)
def test_dlmm_quotes_follow_every_change_of_state(pool, ops):
    """Quotes (served from a per-state cache) always equal the swap on a fresh copy."""
    for op, amount in ops:
        for side in ("sell", "buy"):
            cap = pool.sell_capacity() if side == "sell" else pool.buy_capacity()
            a = min(amount, cap)
            quote = pool.quote_sell(a) if side == "sell" else pool.quote_buy(a)
            fresh = pool_from_state(pool.to_state())
            assert quote == (fresh.sell(a) if side == "sell" else fresh.buy(a))
        if op == "clock":
            pool.set_clock(pool.clock + amount % 1000)
        elif op == "sell":
            pool.sell(min(amount, pool.sell_capacity()))
        else:
            pool.buy(min(amount, pool.buy_capacity()))
