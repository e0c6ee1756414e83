"""plan_fill: the internal book competes with the venues on price, and the combined plan
is within 1 quote unit of brute force over every split between book and venues."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_core.amm import CpmmPool
from engine_core.dlmm import DlmmPool
from engine_core.limits import within_limit
from engine_core.planner import plan_fill, take_makers
from tests.helpers.brute import best_pair, best_triple, book_value, pool_value

SOL = 10**9
USDC = 10**6


def raydium_at_130():
    return {"raydium": CpmmPool(200_000 * SOL, 26_000_000 * USDC, 25)}


def plan_total(pools, side, n, makers, decimals, book_qty, route):
    got = book_value(makers, side, decimals)(book_qty)
    if route is not None:
        got += route.quote_amount if side == "sell" else -route.quote_amount
    return got


# -- worked examples --


def test_plan_resting_bid_below_venues_sell_goes_to_venues():
    # the case: bid 125 in the book, raydium pays ~130: the taker sells on raydium
    book_qty, route = plan_fill(
        raydium_at_130(), "sell", SOL // 2, [(125 * USDC, 10 * SOL)], 100 * USDC, 9
    )
    assert book_qty == 0
    assert route is not None and route.amount == SOL // 2
    assert route.quote_amount * 2 > 129 * USDC


def test_plan_resting_bid_above_venues_fills_internally():
    book_qty, route = plan_fill(
        raydium_at_130(), "sell", SOL // 2, [(135 * USDC, 10 * SOL)], 100 * USDC, 9
    )
    assert (book_qty, route) == (SOL // 2, None)


def test_plan_splits_between_book_and_venue_at_the_better_price():
    # a bid of 1 SOL at 131 above the pool's 130 * 0.9975 = 129.7: the book's SOL first,
    # then raydium for the rest
    book_qty, route = plan_fill(raydium_at_130(), "sell", 5 * SOL, [(131 * USDC, 1 * SOL)], None, 9)
    assert book_qty == 1 * SOL and route.amount == 4 * SOL


def test_plan_large_sell_takes_book_once_venue_marginal_falls_below_it():
    # selling 10000 SOL moves raydium's marginal price below 125: the rest goes to the bid
    book_qty, route = plan_fill(
        raydium_at_130(), "sell", 10_000 * SOL, [(125 * USDC, 10_000 * SOL)], None, 9
    )
    assert 0 < book_qty < 10_000 * SOL and route.amount + book_qty == 10_000 * SOL
    pool = raydium_at_130()["raydium"]
    # at the split, one more SOL on raydium would pay less than the bid
    q_at, _ = pool.quote_sell(route.amount)
    q_more, _ = pool.quote_sell(route.amount + SOL)
    assert q_more - q_at < 125 * USDC


def test_plan_buy_with_ask_cheaper_than_venues_takes_it():
    pools = raydium_at_130()
    book_qty, route = plan_fill(pools, "buy", 2 * SOL, [(120 * USDC, 1 * SOL)], None, 9)
    # the whole ask (up to a few base units: the integer totals tie there), then raydium
    assert 1 * SOL - 10 <= book_qty <= 1 * SOL and route.amount == 2 * SOL - book_qty
    paid = book_qty * 120 * USDC // SOL + route.quote_amount
    assert paid <= 120 * USDC + pools["raydium"].quote_buy(1 * SOL)[0]


def test_plan_limit_order_venue_part_within_limit():
    pools = raydium_at_130()
    book_qty, route = plan_fill(pools, "buy", 5_000 * SOL, [(131 * USDC, 10 * SOL)], 132 * USDC, 9)
    assert book_qty == 10 * SOL
    assert within_limit(route, 132 * USDC, 9)


def test_plan_market_order_venues_too_small_uses_book_alone():
    pools = {"p": CpmmPool(10 * SOL, 1_300 * USDC, 25)}
    assert plan_fill(pools, "buy", 50 * SOL, [(140 * USDC, 5 * SOL)], None, 9) == (5 * SOL, None)


def test_plan_no_makers_is_the_venue_route():
    book_qty, route = plan_fill(raydium_at_130(), "sell", SOL, [], None, 9)
    assert book_qty == 0 and route.amount == SOL


def test_take_makers_cuts_the_last_one():
    crossing = [(7, 131, 5), (3, 130, 5), (9, 129, 5)]
    assert take_makers(crossing, 7) == [(7, 131, 5), (3, 130, 2)]
    assert take_makers(crossing, 0) == []


# -- properties against brute force --


FEE_MODES = pytest.mark.parametrize("mode", ["input", "output"])
# the dlmm's sell fee on the same side as the cpmm's: InputOnly, or OnlyY off the quote out
DLMM_MODE = {"input": "input", "output": "quote"}


@st.composite
def market(draw, mode):
    """A small cpmm or dlmm venue (its sell fee off the input or the output, by `mode`) at
    ~price (quote units per base unit, 0 decimals), and makers around it: the book may
    cross the venue or not."""
    price = draw(st.sampled_from([1, 7, 130, 1000]))
    if draw(st.booleans()):
        x = draw(st.integers(2_000, 100_000))
        pool = CpmmPool(x, x * price, draw(st.sampled_from([0, 25, 100, 300])), mode)
    else:
        pool = DlmmPool(
            draw(st.sampled_from([10, 50])),
            0,
            draw(st.integers(3, 30)),
            draw(st.integers(100, 3_000)),
            draw(st.integers(100, 3_000)) * price,
            fee_bps=draw(st.sampled_from([0, 20])),
            fee_mode=DLMM_MODE[mode],
        )
        price = pool.spot_price_x64() // 2**64 or 1
    levels = draw(st.lists(st.tuples(st.floats(0.9, 1.1), st.integers(1, 2_000)), max_size=4))
    return pool, price, levels


def makers_for(side, price, levels):
    makers = [(max(1, int(price * f)), q) for f, q in levels]
    makers.sort(key=lambda m: -m[0] if side == "sell" else m[0])
    return makers


SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FEE_MODES
@SLOW
@given(st.data(), st.sampled_from(["sell", "buy"]), st.integers(1, 3_000))
def test_plan_one_venue_and_book_within_one_unit_of_brute_force(mode, data, side, n):
    pool, price, levels = data.draw(market(mode))
    makers = makers_for(side, price, levels)
    book_qty, route = plan_fill({"v": pool}, side, n, makers, None, 0)
    try:
        brute, _ = best_pair(book_value(makers, side, 0), pool_value(pool, side), n)
    except ValueError:
        return  # the venue and the book cannot fill n together: a market order does not plan
    assert book_qty + (route.amount if route else 0) == n
    assert plan_total({"v": pool}, side, n, makers, 0, book_qty, route) >= brute - 1


@FEE_MODES
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(["sell", "buy"]), st.integers(1, 300))
def test_plan_two_venues_and_book_within_one_unit_of_brute_force(mode, data, side, n):
    (pa, price, levels), (pb, _, _) = data.draw(market(mode)), data.draw(market(mode))
    makers = makers_for(side, price, levels)
    pools = {"a": pa, "b": pb}
    book_qty, route = plan_fill(pools, side, n, makers, None, 0)
    try:
        brute = best_triple(
            book_value(makers, side, 0), pool_value(pa, side), pool_value(pb, side), n
        )
    except ValueError:
        return
    assert plan_total(pools, side, n, makers, 0, book_qty, route) >= brute - 1
