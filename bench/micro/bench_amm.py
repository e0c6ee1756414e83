"""Pool quotes and fills: Cython beside the plain-Python twin."""

from __future__ import annotations

import pytest

from bench.micro.pyref import PyCpmmPool
from engine_core.amm import CpmmPool
from engine_core.dlmm import DlmmPool

SOL = 10**9
USDC = 10**6
RESERVES = (200_000 * SOL, 30_000_000 * USDC, 25)


@pytest.mark.benchmark(group="quote_sell")
def test_quote_sell_cython(benchmark):
    pool = CpmmPool(*RESERVES)
    assert benchmark(pool.quote_sell, 10 * SOL) == PyCpmmPool(*RESERVES).quote_sell(10 * SOL)


@pytest.mark.benchmark(group="quote_sell")
def test_quote_sell_python(benchmark):
    benchmark(PyCpmmPool(*RESERVES).quote_sell, 10 * SOL)


@pytest.mark.benchmark(group="quote_buy")
def test_quote_buy_cython(benchmark):
    pool = CpmmPool(*RESERVES)
    assert benchmark(pool.quote_buy, 10 * SOL) == PyCpmmPool(*RESERVES).quote_buy(10 * SOL)


@pytest.mark.benchmark(group="quote_buy")
def test_quote_buy_python(benchmark):
    benchmark(PyCpmmPool(*RESERVES).quote_buy, 10 * SOL)


@pytest.mark.benchmark(group="quote_dlmm")
def test_quote_sell_dlmm_one_bin_cython(benchmark):
    pool = DlmmPool(10, -1869, 300, 400 * SOL, 61_800 * USDC)
    benchmark(pool.quote_sell, 10 * SOL)


@pytest.mark.benchmark(group="quote_dlmm")
def test_quote_sell_dlmm_ten_bins_cython(benchmark):
    pool = DlmmPool(10, -1869, 300, 400 * SOL, 61_800 * USDC)
    benchmark(pool.quote_sell, 4_000 * SOL)


@pytest.mark.benchmark(group="fill_pool")
def test_pool_sell_cython(benchmark):
    pool = CpmmPool(*RESERVES)
    benchmark.pedantic(lambda: pool.copy().sell(10 * SOL), rounds=20_000, iterations=10)


@pytest.mark.benchmark(group="fill_pool")
def test_pool_sell_python(benchmark):
    pool = PyCpmmPool(*RESERVES)
    benchmark.pedantic(lambda: pool.copy().sell(10 * SOL), rounds=20_000, iterations=10)
