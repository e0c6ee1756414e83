"""Book: adding, reading, removing and resizing orders, price-time priority and the best
prices, by hand."""

from __future__ import annotations

import pytest

from engine_core.book import MAX_PRICE, Book
from tests.helpers.book import book_of

# -- add / get / remove --


def test_book_add_then_get_returns_side_price_remaining_client_seq():
    b = Book()
    b.add(7, "sell", 150_250_000, 3_000, 42)
    b.add(8, "buy", None, 5, 43)
    assert b.get(7) == ("sell", 150_250_000, 3_000, 42, 0)
    assert b.get(8) == ("buy", None, 5, 43, 1)
    assert len(b) == 2 and 7 in b and 8 in b and 9 not in b
    assert sorted(b.handles()) == [7, 8]


def test_book_add_duplicate_handle_raises_value_error():
    b = book_of((1, "buy", 100, 1, 1))
    with pytest.raises(ValueError, match="already"):
        b.add(1, "sell", 100, 1, 2)
    assert b.get(1) == ("buy", 100, 1, 1, 0)


@pytest.mark.parametrize("remaining", [0, -5])
def test_book_add_nonpositive_remaining_raises_value_error(remaining):
    with pytest.raises(ValueError):
        Book().add(1, "buy", 100, remaining, 1)


@pytest.mark.parametrize("price", [-1, MAX_PRICE + 1])
def test_book_add_price_out_of_range_raises_value_error(price):
    with pytest.raises(ValueError):
        Book().add(1, "buy", price, 1, 1)


@pytest.mark.parametrize("price", [1.5, "100", True])
def test_book_add_non_int_price_raises_type_error(price):
    with pytest.raises(TypeError):
        Book().add(1, "buy", price, 1, 1)


def test_book_add_unknown_side_raises_value_error():
    with pytest.raises(ValueError, match="side"):
        Book().add(1, "bid", 100, 1, 1)


def test_book_get_missing_raises_key_error():
    with pytest.raises(KeyError):
        Book().get(1)


def test_book_contains_non_int_or_huge_is_false():
    b = book_of((1, "buy", 100, 1, 1))
    assert "1" not in b and 1.0 not in b and 2**70 not in b


def test_book_seq_explicit_bumps_counter_so_new_orders_come_after():
    b = Book()
    b.add(1, "buy", 100, 1, 1, seq=41)
    b.add(2, "buy", 100, 1, 1)
    assert b.get(2)[4] == 42 and b.next_seq == 43
    b.add(3, "buy", 100, 1, 1, seq=5)  # an older order re-added keeps its place
    assert b.get(3)[4] == 5 and b.next_seq == 43
    assert [h for h, _, _ in b.crossing("sell", 100, 10, 0)] == [3, 1, 2]


def test_book_readd_with_seq_keeps_time_priority():
    b = book_of((1, "sell", 100, 1, 1), (2, "sell", 100, 1, 2))
    _, price, rem, client, seq = b.get(1)
    assert b.remove(1)
    b.add(1, "sell", price, rem, client, seq)
    assert [h for h, _, _ in b.crossing("buy", 100, 10, 0)] == [1, 2]


def test_book_remove_missing_returns_false():
    b = book_of((1, "buy", 100, 1, 1))
    assert b.remove(1) is True
    assert b.remove(1) is False
    assert len(b) == 0


def test_book_set_remaining_zero_removes():
    b = book_of((1, "buy", 100, 4, 1))
    b.set_remaining(1, 0)
    assert 1 not in b and b.best_bid() is None


def test_book_set_remaining_keeps_priority():
    b = book_of((1, "buy", 100, 4, 1), (2, "buy", 100, 4, 2))
    b.set_remaining(1, 9)
    assert b.get(1)[2] == 9
    assert b.crossing("sell", 100, 20, 0) == [(1, 100, 9), (2, 100, 4)]


def test_book_set_remaining_missing_raises_key_error():
    with pytest.raises(KeyError):
        Book().set_remaining(1, 3)


# -- best prices --


def test_book_best_bid_ask_ignore_uncapped_orders():
    b = book_of(
        (1, "buy", None, 1, 1),
        (2, "buy", 99, 1, 1),
        (3, "buy", 101, 1, 1),
        (4, "sell", None, 1, 1),
        (5, "sell", 105, 1, 1),
        (6, "sell", 103, 1, 1),
    )
    assert (b.best_bid(), b.best_ask()) == (101, 103)
    assert (Book().best_bid(), Book().best_ask()) == (None, None)
    assert book_of((1, "buy", None, 1, 1)).best_bid() is None
