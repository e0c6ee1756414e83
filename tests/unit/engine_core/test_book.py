"""Book: price-time priority, internal matching and the venue-executable query, by hand and
against a brute-force Python model (hypothesis state machine)."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

from engine_core.book import MAX_PRICE, Book

USDC = 10**6


def book_of(*orders):
    """Book from (handle, side, price, remaining, client) rows, seq = arrival order."""
    b = Book()
    for h, side, price, rem, client in orders:
        b.add(h, side, price, rem, client)
    return b


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


# -- crossing / match --


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


# -- the state machine --

SIDES = st.sampled_from(["buy", "sell"])
PRICES = st.one_of(st.none(), st.integers(95, 105), st.just(MAX_PRICE), st.just(0))
LIMITS = st.one_of(st.none(), st.integers(94, 106))
VENUE = st.one_of(st.none(), st.integers(93, 107))
CLIENTS = st.integers(0, 3)


def priority(order, handle):
    """The model's price-time key: uncapped first, then best price, then seq, then handle."""
    side, price, _, _, seq = order
    if price is None:
        return (0, 0, seq, handle)
    return (1, -price if side == "buy" else price, seq, handle)


class BookMachine(RuleBasedStateMachine):
    handles = Bundle("handles")

    @initialize()
    def start(self):
        self.book = Book()
        self.model: dict[int, list] = {}  # handle -> [side, price, remaining, client, seq]
        self.next_handle = 0
        self.next_seq = 0
        self.added = self.removed = self.matched = 0

    def sorted_side(self, side):
        rows = [(h, o) for h, o in self.model.items() if o[0] == side]
        return sorted(rows, key=lambda r: priority(r[1], r[0]))

    def model_crossing(self, side, limit, qty, excl):
        other = "sell" if side == "buy" else "buy"
        out, left = [], qty
        for h, (_, price, rem, client, _) in self.sorted_side(other):
            if left == 0:
                break
            if price is None or client == excl:
                continue
            if limit is not None and (price > limit if side == "buy" else price < limit):
                continue
            fill = min(rem, left)
            out.append((h, price, fill))
            left -= fill
        return out

    @rule(
        target=handles,
        side=SIDES,
        price=PRICES,
        rem=st.integers(1, 40),
        client=CLIENTS,
        seq=st.one_of(st.just(-1), st.integers(0, 60)),
    )
    def add(self, side, price, rem, client, seq):
        h = self.next_handle
        self.next_handle += 1
        self.book.add(h, side, price, rem, client, seq)
        s = self.next_seq if seq == -1 else seq
        self.next_seq = max(self.next_seq, s + 1)
        self.model[h] = [side, price, rem, client, s]
        self.added += rem
        return h

    @rule(h=handles)
    def add_again_raises(self, h):
        if h in self.model:
            with pytest.raises(ValueError):
                self.book.add(h, "buy", 100, 1, 0)

    @rule(h=consumes(handles))
    def remove(self, h):
        present = h in self.model
        assert self.book.remove(h) is present
        if present:
            self.removed += self.model.pop(h)[2]

    @rule(h=handles, rem=st.integers(0, 40))
    def set_remaining(self, h, rem):
        if h not in self.model:
            with pytest.raises(KeyError):
                self.book.set_remaining(h, rem)
            return
        self.book.set_remaining(h, rem)
        self.removed += self.model[h][2] - rem
        if rem == 0:
            del self.model[h]
        else:
            self.model[h][2] = rem

    @rule(h=consumes(handles))
    def remove_and_readd_keeps_seq(self, h):
        if h not in self.model:
            return
        side, price, rem, client, seq = self.book.get(h)
        assert self.book.remove(h)
        self.book.add(h, side, price, rem, client, seq)
        assert self.book.get(h) == tuple(self.model[h])

    @rule(side=SIDES, limit=LIMITS, qty=st.integers(0, 120), excl=CLIENTS)
    def crossing_matches_model(self, side, limit, qty, excl):
        got = self.book.crossing(side, limit, qty, excl)
        assert got == self.model_crossing(side, limit, qty, excl)
        assert sum(f for _, _, f in got) <= qty

    @rule(side=SIDES, limit=LIMITS, qty=st.integers(0, 120), excl=CLIENTS)
    def match(self, side, limit, qty, excl):
        expected = self.model_crossing(side, limit, qty, excl)
        got = self.book.match(side, limit, qty, excl)
        assert got == expected
        for h, _, fill in got:
            self.model[h][2] -= fill
            if self.model[h][2] == 0:
                del self.model[h]
        self.matched += sum(f for _, _, f in got)
        if sum(f for _, _, f in got) < qty:
            # never crossed: what is left of the other side does not cross the limit,
            # unless it is the taker's own or has no price
            assert self.book.crossing(side, limit, 10**9, excl) == []

    @rule(ask=VENUE, bid=VENUE)
    def executable_matches_scan(self, ask, bid):
        want = []
        if ask is not None:
            want += [h for h, o in self.sorted_side("buy") if o[1] is None or o[1] >= ask]
        if bid is not None:
            want += [h for h, o in self.sorted_side("sell") if o[1] is None or o[1] <= bid]
        assert self.book.executable(ask, bid) == want

    @invariant()
    def same_orders_as_model(self):
        assert len(self.book) == len(self.model)
        assert sorted(self.book.handles()) == sorted(self.model)
        for h, o in self.model.items():
            assert self.book.get(h) == tuple(o)

    @invariant()
    def quantity_conserved(self):
        resting = sum(self.book.get(h)[2] for h in self.book.handles())
        assert resting + self.matched + self.removed == self.added

    @invariant()
    def best_prices_match_model(self):
        bids = [o[1] for o in self.model.values() if o[0] == "buy" and o[1] is not None]
        asks = [o[1] for o in self.model.values() if o[0] == "sell" and o[1] is not None]
        assert self.book.best_bid() == (max(bids) if bids else None)
        assert self.book.best_ask() == (min(asks) if asks else None)

    @invariant()
    def next_seq_after_every_seq(self):
        assert self.book.next_seq == self.next_seq
        assert all(o[4] < self.book.next_seq for o in self.model.values())


BookMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
test_book_state_machine_random_ops_agree_with_model = BookMachine.TestCase
