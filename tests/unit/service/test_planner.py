"""The planner on its own: real engine_core pools and book for SOL/USDC, no I/O. What an
order can execute now (makers of other clients first, then the venues within the limit or
the slippage bound), and whether its swap still fits when it lands."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine_core.book import Book
from engine_core.limits import venue_quotes
from engine_core.pools import make_pool
from service.config import DEFAULT_MARKETS_FILE
from service.domain.markets import load_markets
from service.domain.order import LiveOrder
from service.worker.planner import AttemptFailed, internal_price, plan_order, swap_on_copies

SOL = load_markets(DEFAULT_MARKETS_FILE)["SOL/USDC"]
ONE_SOL = 10**SOL.base.decimals
USDC = 10**SOL.quote.decimals


def pools() -> dict:
    return {v.venue: make_pool(v.kind, v.params) for v in SOL.venues}


def order(side: str, amount: int, kind: str = "market", limit: int | None = None) -> LiveOrder:
    tif = "GTC"
    row = ("id-1", "taker", "SOL/USDC", side, kind, tif, amount, limit, 50, "pending",
           1, 0, 0, 0, 0, None, None, datetime.now(UTC), None)  # fmt: skip
    return LiveOrder.from_row(row, SOL)


def plan(o: LiveOrder, venues: dict, book: Book | None = None, limit: int | None = None):
    book = book if book is not None else Book()
    quotes = venue_quotes(venues, SOL.base.decimals)
    return plan_order(o, venues, book, quotes, client=1, limit=limit)


def test_a_market_order_routes_all_of_it_to_the_venues_with_a_slippage_bound():
    venues = pools()
    p = plan(order("buy", ONE_SOL), venues)
    assert p is not None and not p.internal
    assert p.route is not None and p.route.amount == ONE_SOL and p.qty == ONE_SOL
    # a buy's bound is the most quote it may spend: above what the route costs now
    assert p.bound is not None and p.bound > p.route.quote_amount
    assert {leg["venue"] for leg in p.json["legs"]} <= {"raydium", "meteora"}


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_a_limit_far_from_the_market_plans_nothing(side):
    ask, bid = venue_quotes(pools(), SOL.base.decimals)
    far = ask // 10 if side == "buy" else bid * 10
    assert plan(order(side, ONE_SOL, "limit", far), pools()) is None


def test_a_crossing_maker_of_another_client_is_taken_first_at_its_price():
    venues = pools()
    ask, _ = venue_quotes(venues, SOL.base.decimals)
    book = Book()
    maker_price = ask - ask // 100  # a resting sell 1 % under the venues' ask
    book.add(7, "sell", maker_price, ONE_SOL // 2, client=2)
    o = order("buy", ONE_SOL, "limit", ask + ask // 10)
    p = plan(o, venues, book)
    assert p is not None
    assert p.internal == [(7, maker_price, ONE_SOL // 2)]
    assert p.route is not None and p.route.amount == ONE_SOL - ONE_SOL // 2
    assert internal_price(o, p) == p.limit


def test_the_orders_own_resting_order_is_never_matched():
    venues = pools()
    ask, _ = venue_quotes(venues, SOL.base.decimals)
    book = Book()
    book.add(7, "sell", ask - ask // 100, ONE_SOL, client=1)  # the taker's own client
    p = plan(order("buy", ONE_SOL // 2, "limit", ask + ask // 10), venues, book)
    assert p is not None and not p.internal


def test_a_market_orders_internal_price_is_its_worst_maker():
    venues = pools()
    ask, _ = venue_quotes(venues, SOL.base.decimals)
    book = Book()
    book.add(7, "sell", ask - 2, ONE_SOL // 4, client=2)
    book.add(8, "sell", ask - 1, ONE_SOL // 4, client=3)
    o = order("buy", ONE_SOL // 2)
    p = plan(o, venues, book)
    assert p is not None and len(p.internal) == 2
    assert internal_price(o, p) == ask - 1


def test_the_swap_lands_on_copies_and_leaves_the_live_pools_alone():
    venues = pools()
    before = {v: pool.to_state() for v, pool in venues.items()}
    o = order("sell", ONE_SOL)
    p = plan(o, venues)
    trial, actual = swap_on_copies(o, p, venues, "tx")
    assert actual.amount == ONE_SOL and actual.quote_amount == p.route.quote_amount
    assert {v: pool.to_state() for v, pool in venues.items()} == before
    assert {v: pool.to_state() for v, pool in trial.items()} != before


def test_a_swap_that_no_longer_fits_its_bound_fails_as_slippage_exceeded():
    venues = pools()
    o = order("buy", ONE_SOL)
    p = plan(o, venues)
    # someone else buys 1,000 SOL first: the same route now costs more than the bound
    other = order("buy", 1000 * ONE_SOL)
    moved, _ = swap_on_copies(other, plan(other, venues), venues, "tx0")
    with pytest.raises(AttemptFailed) as e:
        swap_on_copies(o, p, moved, "tx1")
    assert e.value.reason == "slippage_exceeded" and e.value.tx_hash == "tx1"
