"""The exact split, limit sizing and the planner (book + venues) on the SOL/USDC market of
markets.toml. `make bench` prints them beside bench_router's routes."""

from __future__ import annotations

import pytest

from engine_core.amm import CpmmPool
from engine_core.dlmm import DlmmPool
from engine_core.limits import max_fill_within_limit, venue_quotes
from engine_core.planner import plan_fill
from engine_core.router import best_route

SOL = 10**9
USDC = 10**6


def two_cpmm():
    return {
        "raydium": CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25),
        "meteora": CpmmPool(150_000 * SOL, 23_100_000 * USDC, 20),
    }


def cpmm_dlmm():
    return {
        "raydium": CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25),
        "meteora": DlmmPool(10, -1869, 300, 400 * SOL, 61_800 * USDC),
    }


@pytest.mark.benchmark(group="route_small")
def test_route_two_cpmm_small_order(benchmark):
    # 0.05 SOL (~7.5 USDC): the band where the old bisection fell short by up to 19 bps
    route = benchmark(best_route, two_cpmm(), "sell", 5 * 10**7)
    assert route.amount == 5 * 10**7


@pytest.mark.benchmark(group="limit_sizing")
def test_limit_sizing_cpmm_dlmm(benchmark):
    pools = cpmm_dlmm()
    ask, _ = venue_quotes(pools, 9)
    assert ask is not None
    limit = ask * 10_050 // 10_000  # 50 bps above the best ask
    route = benchmark(max_fill_within_limit, pools, "buy", 50_000 * SOL, limit, 9)
    assert route is not None and route.amount < 50_000 * SOL


@pytest.mark.benchmark(group="limit_sizing")
def test_limit_sizing_two_cpmm(benchmark):
    pools = two_cpmm()
    _, bid = venue_quotes(pools, 9)
    assert bid is not None
    limit = bid * 9_950 // 10_000
    route = benchmark(max_fill_within_limit, pools, "sell", 50_000 * SOL, limit, 9)
    assert route is not None and route.amount < 50_000 * SOL


@pytest.mark.benchmark(group="planner")
def test_plan_book_and_two_venues(benchmark):
    pools = cpmm_dlmm()
    makers = [(156_000_000, 30 * SOL), (155_000_000, 50 * SOL), (154_000_000, 100 * SOL)]
    book_qty, route = benchmark(plan_fill, pools, "sell", 500 * SOL, makers, None, 9)
    assert book_qty > 0 and route is not None
