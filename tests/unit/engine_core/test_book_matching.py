"""Book: internal matching (crossing / match) and the venue-executable query, by hand."""

from __future__ import annotations

import pytest

from engine_core.book import MAX_PRICE, Book
from tests.helpers.book import book_of

USDC = 10**6


def hand_book():
    # asks: 3 @ 101 (t0, client 1), 5 @ 100 (t1, client 2), 2 @ 100 (t2, client 3),
    #       4 @ none (t3, client 4), 6 @ 103 (t4, client 5)
    return book_of(
        (10, "sell", 101 * USDC, 3, 1),
        (11, "sell", 100 * USDC, 5, 2),
        (12, "sell", 100 * USDC, 2, 3),
        (13, "sell", None, 4, 4),
        (14, "sell", 103 * USDC, 6, 5),
    )


def test_book_crossing_buy_limit_price_time_priority_matches_hand_order():
    # a buy of 9 at 101: 100 before 101, and at 100 the earlier (11) first; 103 is too high
    assert hand_book().crossing("buy", 101 * USDC, 9, 0) == [
        (11, 100 * USDC, 5),
        (12, 100 * USDC, 2),
        (10, 101 * USDC, 2),
    ]


def test_book_crossing_market_buy_takes_priced_orders_skips_uncapped():
    assert hand_book().crossing("buy", None, 100, 0) == [
        (11, 100 * USDC, 5),
        (12, 100 * USDC, 2),
        (10, 101 * USDC, 3),
        (14, 103 * USDC, 6),
    ]


def test_book_crossing_exclude_client_skips_own_orders():
    assert hand_book().crossing("buy", 101 * USDC, 9, 2) == [
        (12, 100 * USDC, 2),
        (10, 101 * USDC, 3),
    ]


def test_book_crossing_below_best_ask_returns_empty():
    assert hand_book().crossing("buy", 100 * USDC - 1, 9, 0) == []
    assert hand_book().crossing("buy", 100 * USDC, 0, 0) == []


def test_book_crossing_does_not_modify():
    b = hand_book()
    before = {h: b.get(h) for h in b.handles()}
    b.crossing("buy", None, 100, 0)
    assert {h: b.get(h) for h in b.handles()} == before


def test_book_crossing_sell_matches_highest_bids_first():
    b = book_of(
        (1, "buy", 99, 1, 1),
        (2, "buy", 101, 2, 1),
        (3, "buy", 100, 3, 1),
        (4, "buy", None, 9, 1),
    )
    assert b.crossing("sell", 100, 10, 0) == [(2, 101, 2), (3, 100, 3)]


def test_book_crossing_negative_qty_or_price_raises_value_error():
    with pytest.raises(ValueError):
        Book().crossing("buy", 1, -1, 0)
    with pytest.raises(ValueError):
        Book().crossing("buy", -1, 1, 0)


def test_book_crossing_limit_beyond_max_price_matches_everything():
    b = book_of((1, "sell", MAX_PRICE, 1, 1), (2, "buy", MAX_PRICE, 1, 1))
    assert b.crossing("buy", 2**200, 5, 0) == [(1, MAX_PRICE, 1)]
    assert b.crossing("sell", MAX_PRICE, 5, 0) == [(2, MAX_PRICE, 1)]
    assert b.crossing("sell", MAX_PRICE + 1, 5, 0) == []
    assert (b.best_bid(), b.best_ask()) == (MAX_PRICE, MAX_PRICE)


def test_book_match_partial_maker_keeps_remainder_and_place():
    b = hand_book()
    assert b.match("buy", 101 * USDC, 9, 0)[-1] == (10, 101 * USDC, 2)
    assert 11 not in b and 12 not in b
    assert b.get(10) == ("sell", 101 * USDC, 1, 1, 0)
    assert b.best_ask() == 101 * USDC
    assert b.crossing("buy", None, 100, 0)[0] == (10, 101 * USDC, 1)


def test_book_match_leaves_own_orders_resting():
    b = hand_book()
    b.match("buy", 100 * USDC, 100, 2)
    assert 11 in b and 12 not in b


# -- executable --


def exec_book():
    return book_of(
        (1, "buy", 99, 1, 1),
        (2, "buy", 101, 1, 1),
        (3, "buy", 100, 1, 1),
        (4, "buy", None, 1, 1),
        (5, "buy", 101, 1, 1),
        (6, "sell", 104, 1, 1),
        (7, "sell", None, 1, 1),
        (8, "sell", 102, 1, 1),
        (9, "sell", 103, 1, 1),
    )


def test_book_executable_buys_then_sells_in_priority_order():
    # venue ask 100: buys >= 100 (uncapped first, then 101 by time, then 100);
    # venue bid 103: sells <= 103 (uncapped first, then 102, then 103)
    assert exec_book().executable(100, 103) == [4, 2, 5, 3, 7, 8, 9]


def test_book_executable_none_side_is_skipped():
    assert exec_book().executable(None, 103) == [7, 8, 9]
    assert exec_book().executable(100, None) == [4, 2, 5, 3]
    assert exec_book().executable(None, None) == []


def test_book_executable_uncapped_orders_always_included():
    assert exec_book().executable(10**40, -1) == [4, 7]
    assert exec_book().executable(0, 10**40) == [4, 2, 5, 3, 1, 7, 8, 9, 6]


def test_book_executable_float_price_raises_type_error():
    with pytest.raises(TypeError):
        exec_book().executable(100.0, None)
