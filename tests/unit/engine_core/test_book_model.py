"""Book against a brute-force Python model (hypothesis state machine)."""

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
