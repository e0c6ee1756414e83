"""Routing with a split and executing a route (the fill): Cython beside the Python twin."""

from __future__ import annotations

import pytest

from bench.micro.pyref import PyCpmmPool, py_best_route, py_execute_route
from engine_core.amm import CpmmPool
from engine_core.dlmm import DlmmPool
from engine_core.router import best_route, execute_route

SOL = 10**9
USDC = 10**6
SPLIT = 5_000 * SOL  # big enough that the best route splits across both venues


def cy_pools():
    return {
        "raydium": CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25),
        "meteora": CpmmPool(150_000 * SOL, 23_100_000 * USDC, 20),
    }


def py_pools():
    return {
        "raydium": PyCpmmPool(200_000 * SOL, 30_000_000 * USDC, 25),
        "meteora": PyCpmmPool(150_000 * SOL, 23_100_000 * USDC, 20),
    }


def test_twins_agree():
    """The Python twin keeps the old bisection on the split (the benchmark's baseline); the
    Cython router's exact split is never worse, and differs by a few quote units at most."""
    for side in ("sell", "buy"):
        cy = best_route(cy_pools(), side, SPLIT)
        py = py_best_route(py_pools(), side, SPLIT)
        assert len(cy.legs) == 2 and len(py.legs) == 2
        if side == "sell":
            assert py.quote_amount <= cy.quote_amount <= py.quote_amount + 10
        else:
            assert py.quote_amount - 10 <= cy.quote_amount <= py.quote_amount


@pytest.mark.benchmark(group="route_split")
def test_route_split_cython(benchmark):
    pools = cy_pools()
    route = benchmark(best_route, pools, "sell", SPLIT)
    assert route.split


@pytest.mark.benchmark(group="route_split")
def test_route_split_python(benchmark):
    pools = py_pools()
    route = benchmark(py_best_route, pools, "sell", SPLIT)
    assert len(route.legs) == 2


@pytest.mark.benchmark(group="route_split")
def test_route_split_cpmm_dlmm_cython(benchmark):
    pools = {
        "raydium": CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25),
        "meteora": DlmmPool(10, -1869, 300, 400 * SOL, 61_800 * USDC),
    }
    route = benchmark(best_route, pools, "sell", 20_000 * SOL)  # 18k meteora, 2k raydium
    assert route.split


@pytest.mark.benchmark(group="route_split")
def test_route_split_cpmm_dlmm_cold_cython(benchmark):
    """The first route after a fill: the dlmm pool's quote cache starts empty."""
    base = {
        "raydium": CpmmPool(200_000 * SOL, 30_000_000 * USDC, 25),
        "meteora": DlmmPool(10, -1869, 300, 400 * SOL, 61_800 * USDC),
    }

    def setup():
        return ({k: p.copy() for k, p in base.items()}, "sell", 20_000 * SOL), {}

    benchmark.pedantic(best_route, setup=setup, rounds=5_000)


@pytest.mark.benchmark(group="route_single")
def test_route_single_cython(benchmark):
    benchmark(best_route, cy_pools(), "sell", 1 * SOL)


@pytest.mark.benchmark(group="route_single")
def test_route_single_python(benchmark):
    benchmark(py_best_route, py_pools(), "sell", 1 * SOL)


@pytest.mark.benchmark(group="fill_route")
def test_execute_route_cython(benchmark):
    pools = cy_pools()
    route = best_route(pools, "sell", SPLIT)

    def fill():
        return execute_route({k: p.copy() for k, p in pools.items()}, route)

    benchmark(fill)


@pytest.mark.benchmark(group="fill_route")
def test_execute_route_python(benchmark):
    pools = py_pools()
    route = py_best_route(pools, "sell", SPLIT)

    def fill():
        return py_execute_route({k: p.copy() for k, p in pools.items()}, route)

    benchmark(fill)
