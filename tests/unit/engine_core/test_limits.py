"""venue_quotes / max_fill_within_limit / fok_fillable: worked examples on one CpmmPool from
the closed form, and properties on cpmm and dlmm venues."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine_core.amm import CpmmPool, InsufficientLiquidity
from engine_core.dlmm import DlmmPool
from engine_core.limits import fok_fillable, max_fill_within_limit, venue_quotes, within_limit
from engine_core.router import best_route

SOL = 10**9
USDC = 10**6
Q64 = 2**64


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def cpmm_cost(x: int, y: int, fee: int, a: int) -> int:
    """CpmmPool.quote_buy by hand: net = ceil(y*a/(x-a)), paid = ceil(net / (1 - fee))."""
    return ceil_div(ceil_div(y * a, x - a) * 10_000, 10_000 - fee)


def cpmm_out(x: int, y: int, fee: int, a: int) -> int:
    """CpmmPool.quote_sell with fee_mode "output" by hand: gross = floor(y*a/(x+a)), out =
    gross - ceil(gross*fee). (The sell tests below use that mode: their closed forms are
    its curve's; the search itself does not depend on the mode.)"""
    gross = y * a // (x + a)
    return gross - ceil_div(gross * fee, 10_000)


def fits(route, limit, decimals) -> bool:
    return within_limit(route, limit, decimals)


def route_or_none(pools, side, a):
    try:
        return best_route(pools, side, a)
    except InsufficientLiquidity:
        return None


# -- venue_quotes --


def test_venue_quotes_cpmm_matches_hand_computation():
    # spot 150 USDC; ask = ceil(150e6 / 0.9975) = ceil(150375939.85) ; bid = 150e6 * 0.9975
    pools = {"raydium": CpmmPool(1_000 * SOL, 150_000 * USDC, 25)}
    assert venue_quotes(pools, 9) == (150_375_940, 149_625_000)


def test_venue_quotes_two_pools_best_of_each_side():
    pools = {
        "a": CpmmPool(1_000 * SOL, 150_000 * USDC, 25),  # ask 150375940, bid 149625000
        "b": CpmmPool(1_000 * SOL, 151_000 * USDC, 0),  # ask = bid = 151000000
    }
    assert venue_quotes(pools, 9) == (150_375_940, 151_000_000)


def test_venue_quotes_no_pools_returns_none_none():
    assert venue_quotes({}, 9) == (None, None)


def test_venue_quotes_dlmm_uses_active_bin_price_and_fee_rate():
    pool = DlmmPool(10, -1869, 300, 400 * SOL, 61_800 * USDC)
    p, rate = pool.spot_price_x64(), pool.fee_rate()
    assert rate == 2_000_000  # 20 bps base fee, no volatility yet
    ask, bid = venue_quotes({"meteora": pool}, 9)
    assert ask == ceil_div(p * SOL * 10**9, (10**9 - rate) * Q64)
    assert bid == p * SOL * (10**9 - rate) // (10**9 * Q64)
    # 0.01 SOL inside the active bin costs the marginal price plus one rounding unit
    cost, _ = pool.quote_buy(10**7)
    assert ask <= cost * 100 <= ask + 200
    out, _ = pool.quote_sell(10**7)
    assert bid - 200 <= out * 100 <= bid


class FeelessQuoter:
    """A venue without a fee model: venue_quotes falls back to one whole token's quote."""

    def quote_buy(self, amount):
        return (amount * 3 // 2 + 1, 0)

    def quote_sell(self, amount):
        return (amount * 3 // 2 - 1, 0)


def test_venue_quotes_pool_without_fee_model_quotes_one_whole_token():
    assert venue_quotes({"x": FeelessQuoter()}, 6) == (1_500_001, 1_499_999)


@settings(max_examples=200, deadline=None)
@given(
    x=st.integers(10**6, 10**15),
    y=st.integers(10**6, 10**15),
    fee=st.integers(0, 300),
    decimals=st.integers(0, 12),
    frac=st.integers(1, 10_000),
)
def test_venue_quotes_cpmm_no_swap_beats_marginal_price(x, y, fee, decimals, frac):
    # every amount costs more than ceil(ask) - 1 per whole token, and brings less than bid + 1
    ask, bid = venue_quotes({"p": CpmmPool(x, y, fee)}, decimals)
    a = max(1, x * frac // 100_000)
    scale = 10**decimals
    assert cpmm_cost(x, y, fee, a) * scale > (ask - 1) * a
    assert cpmm_out(x, y, fee, a) * scale < (bid + 1) * a


# -- max_fill_within_limit: worked examples --


def test_max_fill_buy_small_units_equals_closed_form():
    # x=1000, y=150000 (0 decimals), fee 25 bps, limit 160 per unit. Average price of a buy
    # of a is y / ((x - a)(1 - f)) <= 160  <=>  a <= 1000 - 150000 / (160 * 0.9975) = 60.15
    # check by hand: cost(60) = ceil(ceil(9e6/940) / 0.9975) = ceil(9575 / 0.9975) = 9599
    #                <= 160*60 = 9600; cost(61) = ceil(9745 / 0.9975) = 9770 > 9760
    pool = {"p": CpmmPool(1000, 150_000, 25)}
    route = max_fill_within_limit(pool, "buy", 500, 160, 0)
    assert route.amount == 60 and route.quote_amount == 9599
    assert math.floor(1000 - Fraction(150_000 * 10_000, 160 * 9975)) == 60


def test_max_fill_sell_small_units_equals_closed_form():
    # a sell of a brings y/(x + a) * (1 - f) per unit >= 140  <=>
    # a <= 150000 * 0.9975 / 140 - 1000 = 68.75; out(68) = 9550 - 24 = 9526 >= 9520,
    # out(69) = 9681 - 25 = 9656 < 9660
    pool = {"p": CpmmPool(1000, 150_000, 25, "output")}
    route = max_fill_within_limit(pool, "sell", 500, 140, 0)
    assert route.amount == 68 and route.quote_amount == 9526


def test_max_fill_buy_sol_usdc_within_rounding_band_of_closed_form():
    # 1000 SOL / 150000 USDC, fee 25, buy limit 160 USDC: A = x - y*1e9 / (L * 0.9975)
    x, y, fee, limit = 1_000 * SOL, 150_000 * USDC, 25, 160 * USDC
    closed = x - Fraction(y * SOL * 10_000, limit * 9975)  # 60150375939.85 base units
    route = max_fill_within_limit({"p": CpmmPool(x, y, fee)}, "buy", 500 * SOL, limit, 9)
    a = route.amount
    assert route.quote_amount == cpmm_cost(x, y, fee, a)
    # the certificate, by the hand formula: a fits, a + 1 does not
    assert cpmm_cost(x, y, fee, a) * SOL <= limit * a
    assert cpmm_cost(x, y, fee, a + 1) * SOL > limit * (a + 1)
    # rounding (<= 2 quote units, worth 2e9 in the test) only matters within
    # 2e9 * (x - A) / (L * A) ~ 195 base units (2e-7 SOL) below the closed form
    band = 2 * SOL * (x - closed) / (limit * closed) + 1
    assert closed - band <= a <= closed
    assert a >= 60_150_375_827  # the old halving search stopped there, inside the band


def test_max_fill_sell_sol_usdc_within_rounding_band_of_closed_form():
    x, y, fee, limit = 1_000 * SOL, 150_000 * USDC, 25, 140 * USDC
    closed = Fraction(y * 9975 * SOL, limit * 10_000) - x  # 68750000000
    route = max_fill_within_limit({"p": CpmmPool(x, y, fee, "output")}, "sell", 500 * SOL, limit, 9)
    a = route.amount
    assert cpmm_out(x, y, fee, a) * SOL >= limit * a
    assert cpmm_out(x, y, fee, a + 1) * SOL < limit * (a + 1)
    band = 2 * SOL * (x + closed) / (limit * closed) + 1
    assert closed - band <= a <= closed


def test_max_fill_whole_amount_within_limit_returns_best_route_of_amount():
    pools = {"p": CpmmPool(1_000 * SOL, 150_000 * USDC, 25)}
    route = max_fill_within_limit(pools, "buy", 1 * SOL, 151 * USDC, 9)
    assert route == best_route(pools, "buy", 1 * SOL)


def test_max_fill_limit_below_ask_returns_none():
    pools = {"p": CpmmPool(1_000 * SOL, 150_000 * USDC, 25)}
    assert max_fill_within_limit(pools, "buy", 10 * SOL, 150 * USDC, 9) is None
    assert max_fill_within_limit(pools, "sell", 10 * SOL, 150 * USDC, 9) is None


def test_max_fill_no_limit_returns_largest_fillable():
    x = 1_000
    pools = {"p": CpmmPool(x, 150_000, 25)}
    assert max_fill_within_limit(pools, "buy", 10, None, 0).amount == 10
    route = max_fill_within_limit(pools, "buy", 10**6, None, 0)
    assert route.amount == x - 1  # a buy cannot empty the pool
    with pytest.raises(InsufficientLiquidity):
        best_route(pools, "buy", route.amount + 1)


def test_max_fill_no_pools_returns_none():
    assert max_fill_within_limit({}, "buy", 10, 1, 0) is None
    assert fok_fillable({}, "buy", 10, 1, 0) is None


def sol_usdc_venues():
    """The SOL/USDC market of markets.toml: raydium cpmm at 150, meteora dlmm at 154.42."""
    return {
        "raydium": CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25),
        "meteora": DlmmPool(10, -1869, 300, 400 * SOL, 61_800 * USDC),
    }


@settings(max_examples=120, deadline=None)
@given(
    side=st.sampled_from(["buy", "sell"]),
    amount=st.integers(10**6, 100 * SOL),
    eps=st.floats(-6.5, -3).map(lambda e: 10**e),
    skew=st.floats(0.9, 1.1),
)
def test_max_fill_tight_limit_never_skips_a_fitting_band(side, amount, eps, skew):
    """A limit within 3e-7 .. 1e-3 of the marginal price: only a narrow band of amounts fits
    (the halving search answered None in 11 of 1500 such cases). Where the slack is within
    the venues' rounding (a quote unit or two), which amounts fit depends on each one's
    rounding: the answer then fits, but a larger (or the only) lucky amount may be missed."""
    pools = sol_usdc_venues()
    ray = pools["raydium"]
    pools["raydium"] = CpmmPool(ray.base_reserve, int(ray.quote_reserve * skew), 25)
    ask, bid = venue_quotes(pools, 9)
    ref = ask if side == "buy" else bid
    limit = int(ref * (1 + eps)) if side == "buy" else int(ref * (1 - eps))
    route = max_fill_within_limit(pools, side, amount, limit, 9)
    fitting = []  # (amount, slack in quote units * 10**9) of the grid's fitting amounts
    for a in sorted({int(amount * 0.97**k) for k in range(400)} | {amount}):
        r = route_or_none(pools, side, a) if a >= 1 else None
        if r is not None and fits(r, limit, 9):
            slack = limit * a - r.quote_amount * SOL
            fitting.append((a, slack if side == "buy" else -slack))
    if route is None:
        # nothing fits, or only by the luck of the venues' rounding (< 2 quote units spare)
        assert all(slack < 2 * SOL for _, slack in fitting)
        return
    assert fits(route, limit, 9) and route.amount <= amount
    if eps >= 1e-5 and fitting:
        assert route.amount >= max(a for a, _ in fitting)


@pytest.mark.parametrize(
    ("args", "exc"),
    [
        (("bid", 10, 1, 0), ValueError),
        (("buy", 0, 1, 0), ValueError),
        (("buy", 10, 1.5, 0), TypeError),
        (("buy", 10, -1, 0), ValueError),
        (("buy", 10.0, 1, 0), TypeError),
    ],
)
def test_max_fill_bad_arguments_raise(args, exc):
    with pytest.raises(exc):
        max_fill_within_limit({"p": CpmmPool(1000, 1000, 0)}, *args)


# -- fok_fillable --


def test_fok_fillable_whole_amount_or_none():
    pools = {"p": CpmmPool(1000, 150_000, 25, "output")}
    assert fok_fillable(pools, "buy", 60, 160, 0).amount == 60
    assert fok_fillable(pools, "buy", 61, 160, 0) is None
    assert fok_fillable(pools, "buy", 1000, None, 0) is None  # more than the pool holds
    assert fok_fillable(pools, "sell", 68, 140, 0).quote_amount == 9526


# -- properties --


FEE_MODES = pytest.mark.parametrize("mode", ["input", "output"])


@st.composite
def venues(draw, mode):
    """One or two cpmm pools around 150 (quote units per base unit; their sell fee in
    `mode`), maybe a dlmm one."""
    pools = {}
    for name in draw(st.sampled_from([["a"], ["a", "b"], ["a", "d"], ["d"]])):
        if name == "d":
            pools[name] = DlmmPool(
                draw(st.sampled_from([1, 10, 25])),
                0,
                draw(st.integers(0, 40)),
                draw(st.integers(10**4, 10**9)),
                draw(st.integers(10**4, 10**9)),
                fee_bps=draw(st.integers(0, 100)),
            )
        else:
            x = draw(st.integers(10**4, 10**12))
            fee = draw(st.integers(0, 100))
            pools[name] = CpmmPool(x, x * draw(st.integers(50, 300)), fee, mode)
    return pools


@FEE_MODES
@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    side=st.sampled_from(["buy", "sell"]),
    amount=st.integers(1, 10**11),
    bps=st.integers(-500, 2_000),
    decimals=st.integers(0, 3),
)
def test_max_fill_result_within_limit_and_one_more_is_not(mode, data, side, amount, bps, decimals):
    pools = data.draw(venues(mode))
    ask, bid = venue_quotes(pools, decimals)
    ref = ask if side == "buy" else bid
    assume(ref is not None)
    # a limit around the marginal price: above it for a buy, below for a sell
    limit = max(0, ref * (10_000 + (bps if side == "buy" else -bps)) // 10_000)
    route = max_fill_within_limit(pools, side, amount, limit, decimals)
    if route is None:
        full = route_or_none(pools, side, amount)
        assert full is None or not fits(full, limit, decimals)
        return
    a = route.amount
    assert 1 <= a <= amount
    assert route == best_route(pools, side, a)
    assert fits(route, limit, decimals)
    if a < amount:
        more = route_or_none(pools, side, a + 1)
        assert more is None or not fits(more, limit, decimals)
    # the venue quotes miss nothing: a fill within the limit means the limit reaches them
    assert limit >= ask if side == "buy" else limit <= bid


@FEE_MODES
@settings(max_examples=100, deadline=None)
@given(data=st.data(), side=st.sampled_from(["buy", "sell"]), amount=st.integers(1, 10**12))
def test_max_fill_no_limit_largest_fillable(mode, data, side, amount):
    pools = data.draw(venues(mode))
    route = max_fill_within_limit(pools, side, amount, None, 0)
    if route is None:
        assert route_or_none(pools, side, 1) is None
        return
    assert route.amount <= amount
    if route.amount < amount:
        assert route_or_none(pools, side, route.amount + 1) is None


@FEE_MODES
@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    side=st.sampled_from(["buy", "sell"]),
    amount=st.integers(1, 10**10),
    limit=st.integers(0, 400),
)
def test_fok_fillable_agrees_with_max_fill(mode, data, side, amount, limit):
    pools = data.draw(venues(mode))
    fok = fok_fillable(pools, side, amount, limit, 0)
    best = max_fill_within_limit(pools, side, amount, limit, 0)
    if fok is not None:
        assert fok == best and fok.amount == amount
    else:
        assert best is None or best.amount < amount


@st.composite
def small_cpmm_venues(draw, mode):
    """One or two small cpmm pools where a base unit is worth 7 .. 1000 quote units (an
    input fee's step then costs that much), fee up to 300 bps."""
    price = draw(st.sampled_from([7, 130, 1000]))
    pools = {}
    for name in ["a", "b"][: draw(st.integers(1, 2))]:
        x = draw(st.integers(2_000, 50_000))
        y = int(x * price * draw(st.floats(0.97, 1.03)))
        pools[name] = CpmmPool(x, y, draw(st.sampled_from([0, 20, 25, 100, 300])), mode)
    return pools


@FEE_MODES
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), side=st.sampled_from(["buy", "sell"]), bps=st.integers(1, 300))
def test_max_fill_is_the_largest_fitting_amount_by_brute_force(mode, data, side, bps):
    """Every amount from the order's size down, until one fits (the best route of it within
    the limit): max_fill_within_limit answers that amount, past every step of an input fee
    (one base unit, worth 7 .. 1000 quote units, falls to the fee at each). It may answer
    less only where that amount fits by the luck of its rounding (< 2 quote units spare)."""
    pools = data.draw(small_cpmm_venues(mode))
    ask, bid = venue_quotes(pools, 0)
    limit = ask * (10_000 + bps) // 10_000 if side == "buy" else bid * (10_000 - bps) // 10_000

    def slack(a):
        r = route_or_none(pools, side, a)
        if r is None:
            return None
        return limit * a - r.quote_amount if side == "buy" else r.quote_amount - limit * a

    amount = min(p.base_reserve for p in pools.values()) // 20
    brute = next(
        (a for a in range(amount, 0, -1) if (slack(a) or 0) >= 0 and slack(a) is not None), None
    )
    route = max_fill_within_limit(pools, side, amount, limit, 0)
    got = route.amount if route else None
    if got != brute:
        assert brute is not None and slack(brute) < 2, (
            got,
            brute,
            [p.to_state() for p in pools.values()],
        )
        assert got is None or (got < brute and slack(got) >= 0)
