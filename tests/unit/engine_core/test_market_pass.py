"""fill_market_orders: a pass of market orders in one call gives, order by order, the results
of the worker's per-order path (plan_fill, the invalid-leg check, slippage_bound, then
execute_route on copies of the pools and within_slippage), and leaves the pools as that path
does, moved in place."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_core.amm import CpmmPool
from engine_core.dlmm import DlmmPool
from engine_core.fills import slippage_bound, within_slippage
from engine_core.market_pass import fill_market_orders
from engine_core.planner import plan_fill
from engine_core.pools import InsufficientLiquidity, Pool
from engine_core.router import Route, execute_route

SOL = 10**9
USDC = 10**6


def reference(pools, orders, base_decimals):
    """The per-order path (service/worker/planner.py plan_order, executable,
    swap_on_copies): (results, the worker's pools dict at the end)."""
    pools = dict(pools)
    out: list[tuple[Route | None, int | None, Route | None, str | None]] = []
    for side, amount, bps in orders:
        _, route = plan_fill(pools, side, amount, [], None, base_decimals)
        if route is None:
            out.append((None, None, None, "insufficient_liquidity"))
            continue
        if any(leg.amount <= 0 or leg.quote <= 0 for leg in route.legs):
            out.append((None, None, None, "invalid_order"))
            continue
        bound = slippage_bound(side, route.quote_amount, bps)
        trial = {v: p.copy() for v, p in pools.items()}
        try:
            actual = execute_route(trial, route)
        except InsufficientLiquidity:
            out.append((route, bound, None, "insufficient_liquidity"))
            continue
        if not within_slippage(side, actual.quote_amount, bound):
            out.append((route, bound, None, "slippage_exceeded"))
            continue
        pools = trial
        out.append((route, bound, actual, None))
    return out, pools


def states(pools):
    return {venue: pool.to_state() for venue, pool in pools.items()}


def assert_same_as_reference(make_pools, orders, base_decimals=9):
    """The pass and the reference, each on its own fresh pools: the same results, order by
    order, and the same pools at the end. Returns the pass's results."""
    expected, ref_pools = reference(make_pools(), orders, base_decimals)
    pools = make_pools()
    got = fill_market_orders(pools, list(orders), base_decimals)
    assert len(got) == len(orders)
    for k, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g == e, f"order {k} {orders[k]}"
    assert states(pools) == states(ref_pools)
    return got


def single_cpmm():
    return {"raydium": CpmmPool(200_000 * SOL, 26_000_000 * USDC, 25)}


def two_cpmms():
    return {
        "raydium": CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25),
        "meteora": CpmmPool(150_000 * SOL, 23_100_000 * USDC, 20, "output"),
    }


def cpmm_and_dlmm():
    """markets.toml's SOL/USDC: raydium cpmm at 150, meteora dlmm at 154.42."""
    return {
        "raydium": CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25),
        "meteora": DlmmPool(10, -1869, 300, 400 * SOL, 61_800 * USDC),
    }


SETUPS = pytest.mark.parametrize("make_pools", [single_cpmm, two_cpmms, cpmm_and_dlmm])

MIXED = [
    ("sell", 1 * SOL, 50),
    ("buy", 3 * SOL, 0),  # 0 bps: the bound is the plan's quote exactly
    ("sell", 250 * SOL, 100),
    ("buy", SOL // 3, 10_000),
    ("sell", 1, 50),  # a sell of one base unit pays 0 quote units: invalid_order
    ("buy", 1, 0),
    ("sell", 10**30, 50),  # past every venue's liquidity: insufficient_liquidity
    ("buy", 10**6 * SOL, 50),  # more base than every venue holds
    ("buy", 5_000 * SOL, 30),
    ("sell", 7, 0),
    ("sell", 12_345 * SOL, 0),
    ("buy", 2, 1),
]


# -- worked examples --


@SETUPS
def test_market_pass_mixed_sequence_matches_the_per_order_path(make_pools):
    got = assert_same_as_reference(make_pools, MIXED)
    reasons = [r for _, _, _, r in got]
    assert reasons[4] == "invalid_order"
    assert reasons[6] == reasons[7] == "insufficient_liquidity"
    assert reasons.count(None) >= 8
    for route, bound, actual, reason in got:
        if reason is None:
            assert actual == route and bound is not None
        else:
            assert route is None and bound is None and actual is None


@SETUPS
def test_market_pass_exhausting_a_side_then_the_other_matches_the_per_order_path(make_pools):
    # buying most of the base makes later buys fail, then sells bring the pools back
    orders = [("buy", 100_000 * SOL, 0)] * 5 + [("sell", 50_000 * SOL, 0)] * 4
    orders += [("buy", 60_000 * SOL, 10)] * 3
    got = assert_same_as_reference(make_pools, orders)
    assert "insufficient_liquidity" in [r for _, _, _, r in got]


@SETUPS
def test_market_pass_tiny_amounts_match_the_per_order_path(make_pools):
    orders = [(side, n, 0) for n in (1, 2, 3, 5, 8, 13, 1_000) for side in ("sell", "buy")]
    got = assert_same_as_reference(make_pools, orders)
    assert "invalid_order" in [r for _, _, _, r in got]


def test_market_pass_zero_slippage_bound_is_the_plans_quote_and_lands():
    got = assert_same_as_reference(cpmm_and_dlmm, [("sell", 40 * SOL, 0), ("buy", 90 * SOL, 0)])
    for route, bound, actual, reason in got:
        assert reason is None and bound == route.quote_amount == actual.quote_amount


def test_market_pass_splits_across_venues_like_the_planner():
    pools = two_cpmms()
    ((route, _, actual, reason),) = fill_market_orders(pools, [("sell", 5_000 * SOL, 50)], 9)
    assert route is not None and reason is None
    assert route.split and actual == route


def test_market_pass_moves_the_pool_objects_in_place():
    pools = cpmm_and_dlmm()
    before = dict(pools)
    start = states(pools)
    fill_market_orders(pools, MIXED, 9)
    assert list(pools) == list(before)
    assert all(pools[v] is before[v] for v in before)
    assert states(pools) != start
    assert states(pools) == states(reference(cpmm_and_dlmm(), MIXED, 9)[1])


def test_market_pass_failed_orders_leave_the_pools_unchanged():
    pools = single_cpmm()
    start = states(pools)
    got = fill_market_orders(pools, [("sell", 1, 0), ("buy", 10**25, 0), ("sell", 2**100, 0)], 9)
    assert [r for _, _, _, r in got] == ["invalid_order"] + ["insufficient_liquidity"] * 2
    assert states(pools) == start


def test_market_pass_no_orders_and_no_pools():
    assert fill_market_orders(single_cpmm(), [], 9) == []
    assert (
        fill_market_orders({}, [("buy", 1, 0), ("sell", SOL, 0)], 9)
        == [(None, None, None, "insufficient_liquidity")] * 2
    )


@pytest.mark.parametrize(
    ("order", "error", "match"),
    [
        (("hold", SOL, 0), ValueError, "side"),
        (("buy", 0, 0), ValueError, "amount"),
        (("sell", -5, 0), ValueError, "amount"),
        (("sell", 1.5, 0), TypeError, "integer"),
        (("sell", SOL, 10_001), ValueError, "slippage_bps"),
        (("sell", SOL, -1), ValueError, "slippage_bps"),
        (("sell", SOL, 0.5), TypeError, "integers"),
    ],
)
def test_market_pass_bad_order_raises_before_any_pool_moves(order, error, match):
    pools = single_cpmm()
    start = states(pools)
    with pytest.raises(error, match=match):
        fill_market_orders(pools, [("sell", SOL, 0), order], 9)
    assert states(pools) == start


# -- property: the pass is the per-order path --

DLMM_MODE = {"input": "input", "output": "quote"}


@st.composite
def market(draw):
    """One to three small venues (cpmm and / or dlmm, the sell fee off the input or the
    output), and a factory giving fresh copies of them."""
    mode = draw(st.sampled_from(["input", "output"]))
    pools: dict[str, Pool] = {}
    for name in draw(st.sampled_from([["a"], ["a", "b"], ["a", "d"], ["d"], ["a", "b", "d"]])):
        if name == "d":
            pools[name] = DlmmPool(
                draw(st.sampled_from([1, 10, 25])),
                0,
                draw(st.integers(0, 20)),
                draw(st.integers(10**3, 10**8)),
                draw(st.integers(10**3, 10**8)),
                fee_bps=draw(st.integers(0, 100)),
                fee_mode=DLMM_MODE[mode],
            )
        else:
            x = draw(st.integers(10**3, 10**10))
            pools[name] = CpmmPool(
                x, x * draw(st.integers(1, 300)), draw(st.integers(0, 100)), mode
            )
    return lambda: {v: p.copy() for v, p in pools.items()}


orders = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.one_of(st.integers(1, 20), st.integers(1, 10**9), st.integers(10**8, 10**11)),
        st.sampled_from([0, 1, 50, 10_000]),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(market(), orders, st.sampled_from([0, 6, 9]))
def test_market_pass_equals_the_per_order_path(make_pools, orders, decimals):
    assert_same_as_reference(make_pools, orders, decimals)
