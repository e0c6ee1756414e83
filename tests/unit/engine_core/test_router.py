"""best_route / execute_route over cpmm (and dlmm) pools."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_core.amm import CpmmPool, InsufficientLiquidity
from engine_core.router import Leg, Route, best_route, execute_route

SOL = 10**9
USDC = 10**6


def sol_usdc_pools():
    return {
        "raydium": CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25),
        "meteora": CpmmPool(150_000 * SOL, 23_100_000 * USDC, 20),
    }


def single(pool, side, amount):
    return pool.quote_sell(amount) if side == "sell" else pool.quote_buy(amount)


def better(side, a, b):
    """True when quote a is at least as good as b for the trader."""
    return a >= b if side == "sell" else a <= b


@st.composite
def two_pools(draw):
    def pool():
        return CpmmPool(
            draw(st.integers(10**6, 10**15)),
            draw(st.integers(10**6, 10**15)),
            draw(st.integers(0, 100)),
        )

    return {"a": pool(), "b": pool()}


# -- worked examples --


def test_router_small_sell_goes_to_higher_price_venue():
    pools = sol_usdc_pools()  # meteora 154 > raydium 150
    route = best_route(pools, "sell", 1 * SOL)
    assert [leg.venue for leg in route.legs] == ["meteora"]
    assert (route.quote_amount, route.fees) == pools["meteora"].quote_sell(1 * SOL)
    assert route.side == "sell" and route.amount == 1 * SOL and not route.split


def test_router_small_buy_goes_to_lower_price_venue():
    pools = sol_usdc_pools()
    route = best_route(pools, "buy", 1 * SOL)
    assert [leg.venue for leg in route.legs] == ["raydium"]
    assert (route.quote_amount, route.fees) == pools["raydium"].quote_buy(1 * SOL)


@pytest.mark.parametrize("side", ["sell", "buy"])
def test_router_large_order_splits_and_beats_each_venue(side):
    pools = sol_usdc_pools()
    amount = 5_000 * SOL
    route = best_route(pools, side, amount)
    assert route.split and len(route.legs) == 2
    assert sum(leg.amount for leg in route.legs) == amount
    assert route.quote_amount == sum(leg.quote for leg in route.legs)
    assert route.fees == sum(leg.fee for leg in route.legs)
    for pool in pools.values():
        assert better(side, route.quote_amount, single(pool, side, amount)[0])
        assert route.quote_amount != single(pool, side, amount)[0]


@pytest.mark.parametrize("side", ["sell", "buy"])
def test_router_split_marginal_prices_meet(side):
    """Moving a small slice from one leg to the other does not help (beyond rounding)."""
    pools = sol_usdc_pools()
    route = best_route(pools, side, 5_000 * SOL)
    a, b = route.legs
    step = 10**6  # 0.001 SOL
    for da in (step, -step):
        qa = single(pools[a.venue], side, a.amount + da)[0]
        qb = single(pools[b.venue], side, b.amount - da)[0]
        # the optimum is found to within amount >> 20 base units; allow that much slack
        assert better(side, route.quote_amount + (1 if side == "sell" else -1) * 10, qa + qb)


def test_router_no_split_when_disallowed():
    route = best_route(sol_usdc_pools(), "sell", 5_000 * SOL, allow_split=False)
    assert [leg.venue for leg in route.legs] == ["meteora"]


def test_router_price_impact_grows_with_size():
    pools = sol_usdc_pools()
    small = best_route(pools, "sell", 1 * SOL).price_impact_bps
    big = best_route(pools, "sell", 5_000 * SOL).price_impact_bps
    assert small == 0 and big > 100


def test_router_buy_beyond_any_single_pool_splits():
    pools = {"a": CpmmPool(1000, 1000, 25), "b": CpmmPool(1000, 1000, 25)}
    route = best_route(pools, "buy", 1500)
    assert sum(leg.amount for leg in route.legs) == 1500
    assert all(leg.amount < 1000 for leg in route.legs)
    with pytest.raises(InsufficientLiquidity):
        best_route(pools, "buy", 1500, allow_split=False)


def test_router_buy_beyond_all_pools_raises_insufficient_liquidity():
    pools = {"a": CpmmPool(1000, 1000, 25), "b": CpmmPool(1000, 1000, 25)}
    with pytest.raises(InsufficientLiquidity):
        best_route(pools, "buy", 1999)


def test_router_no_pools_raises_insufficient_liquidity():
    with pytest.raises(InsufficientLiquidity):
        best_route({}, "sell", 1)


@pytest.mark.parametrize(
    ("side", "amount", "exc"), [("hold", 1, ValueError), ("sell", 0, ValueError)]
)
def test_router_bad_arguments_raise(side, amount, exc):
    with pytest.raises(exc):
        best_route(sol_usdc_pools(), side, amount)


def test_router_three_pools_never_worse_than_two():
    pools = sol_usdc_pools()
    pools["third"] = CpmmPool(100_000 * SOL, 15_200_000 * USDC, 30)
    three = best_route(pools, "sell", 8_000 * SOL)
    two = best_route(sol_usdc_pools(), "sell", 8_000 * SOL)
    assert three.quote_amount >= two.quote_amount
    assert sum(leg.amount for leg in three.legs) == 8_000 * SOL


# -- execute_route --


@pytest.mark.parametrize("side", ["sell", "buy"])
def test_execute_route_on_unchanged_pools_matches_plan(side):
    pools = sol_usdc_pools()
    plan = best_route(pools, side, 5_000 * SOL)
    done = execute_route(pools, plan)
    assert done == plan
    after = {v: p.to_state() for v, p in pools.items()}
    assert after != {v: p.to_state() for v, p in sol_usdc_pools().items()}


def test_execute_route_sees_moved_pools():
    pools = sol_usdc_pools()
    plan = best_route(pools, "sell", 100 * SOL)
    pools["meteora"].sell(10_000 * SOL)  # someone else moved the price down
    done = execute_route(pools, plan)
    assert done.quote_amount < plan.quote_amount
    assert [leg.amount for leg in done.legs] == [leg.amount for leg in plan.legs]


def test_execute_route_failing_leg_leaves_pools_unchanged():
    pools = {"a": CpmmPool(1000, 1000, 25), "b": CpmmPool(1000, 1000, 25)}
    before = {v: p.to_state() for v, p in pools.items()}
    route = Route("buy", 1100, [Leg("a", 100, 0, 0), Leg("b", 1000, 0, 0)])
    with pytest.raises(InsufficientLiquidity):
        execute_route(pools, route)
    assert {v: p.to_state() for v, p in pools.items()} == before


def test_execute_route_unknown_venue_raises_key_error():
    with pytest.raises(KeyError):
        execute_route(sol_usdc_pools(), Route("sell", 1, [Leg("nowhere", 1, 0, 0)]))


def test_route_dict_round_trip():
    route = best_route(sol_usdc_pools(), "sell", 5_000 * SOL)
    assert Route.from_dict(route.to_dict()) == route


# -- properties --


@settings(max_examples=200)
@given(two_pools(), st.sampled_from(["sell", "buy"]), st.integers(1, 10**14))
def test_router_split_never_worse_than_best_single_venue(pools, side, amount):
    singles = []
    for pool in pools.values():
        try:
            singles.append(single(pool, side, amount)[0])
        except InsufficientLiquidity:
            pass
    try:
        route = best_route(pools, side, amount)
    except InsufficientLiquidity:
        assert not singles
        return
    assert sum(leg.amount for leg in route.legs) == amount
    assert all(leg.amount > 0 for leg in route.legs)
    if singles:
        best = max(singles) if side == "sell" else min(singles)
        assert better(side, route.quote_amount, best)
    assert execute_route({k: p.copy() for k, p in pools.items()}, route) == route
