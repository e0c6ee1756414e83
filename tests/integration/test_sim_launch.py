"""POST /sim/launch opens the venue's own kind of pool: raydium a constant-product one,
meteora a DLMM one (equal bins around the launch price, holding exactly the reserves); the
pool is stored as such, and a swap on it follows the bin math."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from falcon import testing

from engine_core.amm import CpmmPool
from engine_core.dlmm import DlmmPool, bin_price_x64
from engine_core.pools import pool_from_state
from service.api.app import create_app
from service.config import DEFAULT_MARKETS_FILE, Settings
from service.domain.launch import launch_pool
from service.domain.markets import load_markets
from service.runtime.cli import cmd_migrate
from tests.helpers.worker import worker_running

pytestmark = pytest.mark.integration

BASE, QUOTE = 1_000_000 * 10**6, 1000 * 10**9  # PUMP (6 decimals), SOL (9): price 0.001


@pytest.fixture
def still(make_settings: Any) -> Settings:
    settings = make_settings(SIM_TICK_MS="0")  # no simulator moves: the pools stay as opened
    cmd_migrate(settings)
    return settings


def stored_pool(settings: Settings, symbol: str, venue: str) -> tuple[str, dict[str, Any]]:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(
            "SELECT kind, state FROM pools WHERE symbol = %s AND venue = %s", (symbol, venue)
        ).fetchone()
    assert row is not None
    return row[0], row[1]


FINAL = {"filled", "failed", "canceled", "expired"}


def wait_status(
    client: testing.TestClient, oid: str, statuses: set[str], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    order: dict[str, Any] = {}
    while time.monotonic() < deadline:
        order = client.simulate_get(f"/orders/{oid}").json
        if order["status"] in statuses:
            return order
        time.sleep(0.05)
    raise AssertionError(f"order {oid} not {statuses}: {order}")


def test_launch_on_meteora_opens_a_dlmm_pool_and_swaps_follow_bin_math(still: Settings) -> None:
    client = testing.TestClient(create_app(still))
    # what the launch must open, and a sniper buy crossing several bins on it: it costs
    # what the bin math says, not what a constant-product curve of the same reserves would
    market = load_markets(still.markets_file)["PUMP/SOL"]
    opened = launch_pool(market, "meteora", BASE, QUOTE, 30)
    assert isinstance(opened, DlmmPool)
    amount = 20_000 * 10**6  # 2 % of the base: several 0.25 % bins
    expected, _ = opened.copy().quote_buy(amount)
    curve, _ = CpmmPool(BASE, QUOTE, 30).quote_buy(amount)
    assert expected < curve  # 4 bins of 0.25 %: a smaller price walk than x*y=k's ~4 %
    with worker_running(still):
        r = client.simulate_post(
            "/orders",
            json={
                "clientId": "launch-test",
                "symbol": "PUMP/SOL",
                "side": "buy",
                "amount": "20000",
                "type": "sniper",
                "slippageBps": 1000,
            },
        )
        assert r.status_code == 201, r.text
        oid = r.json["id"]
        wait_status(client, oid, {"open"})
        r = client.simulate_post(
            "/sim/launch",
            json={
                "symbol": "PUMP/SOL",
                "venue": "meteora",
                "baseReserve": "1000000",
                "quoteReserve": "1000",
                "feeBps": 30,
            },
        )
        assert r.status_code == 200, r.text
        [venue] = r.json["venues"]
        assert (venue["venue"], venue["kind"]) == ("meteora", "dlmm")
        order = wait_status(client, oid, FINAL)
        assert order["status"] == "filled", order
        kind, state = stored_pool(still, "PUMP/SOL", "meteora")
        with psycopg.connect(still.database_url) as conn:
            fills = conn.execute(
                "SELECT venue, amount, quote_amount FROM fills WHERE order_id = %s", (oid,)
            ).fetchall()
    assert fills == [("meteora", amount, expected)]
    assert kind == "dlmm"
    stored = pool_from_state(state)
    assert isinstance(stored, DlmmPool)
    opened.buy(amount)
    assert stored.bins() == opened.bins()  # the launched pool, moved by that one swap
    assert (stored.fee_bps, stored.bin_step) == (30, opened.bin_step)


def test_launch_pool_holds_the_reserves_in_bins_around_the_price() -> None:
    market = load_markets(DEFAULT_MARKETS_FILE)["PUMP/SOL"]
    pool = launch_pool(market, "meteora", BASE, QUOTE, 30)
    assert isinstance(pool, DlmmPool)
    assert (pool.base_reserve, pool.quote_reserve) == (BASE, QUOTE)  # exactly as given
    # the active bin holds the implied price 0.001 SOL/PUMP = 1 lamport per base unit
    price_x64 = (QUOTE << 64) // BASE
    assert bin_price_x64(pool.active_id, pool.bin_step) <= price_x64
    assert price_x64 < bin_price_x64(pool.active_id + 1, pool.bin_step)
    bins = pool.bins()
    assert len(bins) > 100  # spread over bins either side of the active one
    assert all(b == 0 and q > 0 for k, b, q, _ in bins if k < pool.active_id)
    assert all(b > 0 and q == 0 for k, b, q, _ in bins if k > pool.active_id)
    # a market configured with a meteora DLMM launches with its bin step
    sol = load_markets(DEFAULT_MARKETS_FILE)["SOL/USDC"]
    small = launch_pool(sol, "meteora", 10**9, 150 * 10**6, 20)
    assert isinstance(small, DlmmPool) and small.bin_step == 10
    assert (small.base_reserve, small.quote_reserve) == (10**9, 150 * 10**6)
    # reserves too small for every bin: fewer bins, still exact
    tiny = launch_pool(market, "meteora", 3, 5, 30)
    assert isinstance(tiny, DlmmPool)
    assert (tiny.base_reserve, tiny.quote_reserve) == (3, 5)


def test_launch_on_raydium_opens_a_constant_product_pool(still: Settings) -> None:
    client = testing.TestClient(create_app(still))
    with worker_running(still):
        r = client.simulate_post(
            "/sim/launch",
            json={
                "symbol": "PUMP/SOL",
                "venue": "raydium",
                "baseReserve": "1000000",
                "quoteReserve": "1000",
            },
        )
        assert r.status_code == 200, r.text
        kind, state = stored_pool(still, "PUMP/SOL", "raydium")
    pool = pool_from_state(state)
    assert kind == "cpmm" and isinstance(pool, CpmmPool)
    assert (pool.base_reserve, pool.quote_reserve, pool.fee_bps) == (BASE, QUOTE, 25)
