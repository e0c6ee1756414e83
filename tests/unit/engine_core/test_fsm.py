"""The order state machine table, and random walks of an order through it."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine_core import fsm
from tests.helpers.orders import live_order

PAIRS = list(itertools.product(fsm.STATUS_NAMES, repeat=2))


@pytest.mark.parametrize(("a", "b"), sorted(fsm.TRANSITIONS))
def test_fsm_pair_in_table_is_allowed(a, b):
    assert fsm.allowed(a, b)
    fsm.check(a, b)


@pytest.mark.parametrize(("a", "b"), [p for p in PAIRS if p not in fsm.TRANSITIONS])
def test_fsm_pair_not_in_table_raises_invalid_transition(a, b):
    assert not fsm.allowed(a, b)
    with pytest.raises(fsm.InvalidTransition) as err:
        fsm.check(a, b)
    assert (err.value.from_status, err.value.to_status) == (a, b)


@pytest.mark.parametrize("status", sorted(fsm.TERMINAL))
def test_fsm_terminal_status_has_no_exits(status):
    assert fsm.is_terminal(status)
    assert not [b for (a, b) in fsm.TRANSITIONS if a == status]


def test_fsm_nonterminal_statuses_are_not_terminal():
    assert {s for s in fsm.STATUS_NAMES if fsm.is_terminal(s)} == set(fsm.TERMINAL)


def test_fsm_unknown_status_is_key_error():
    with pytest.raises(KeyError):
        fsm.code("bogus")
    with pytest.raises(KeyError):
        fsm.check("pending", "bogus")


class OrderWalk(RuleBasedStateMachine):
    """Random walks of a LiveOrder through apply(): allowed moves and arbitrary attempts. The
    order never leaves the table, a terminal status is absorbing, and seq rises by one with
    each change and never otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.order = live_order()
        self.seq = self.order.seq
        self.ended: str | None = None

    @precondition(lambda self: not fsm.is_terminal(self.order.status))
    @rule(data=st.data())
    def allowed_move(self, data: st.DataObject) -> None:
        before = self.order.status
        exits = sorted(b for a, b in fsm.TRANSITIONS if a == before)
        assert exits, f"{before} is not terminal yet has no exit"
        to = data.draw(st.sampled_from(exits))
        payload = self.order.apply(to)
        assert (before, self.order.status) in fsm.TRANSITIONS
        assert self.order.status == to and self.order.seq == self.seq + 1
        assert payload["remaining"] == "1.5"
        self.seq = self.order.seq

    @rule(to=st.sampled_from(fsm.STATUS_NAMES))
    def any_move(self, to: str) -> None:
        before = self.order.status
        if fsm.allowed(before, to):
            self.order.apply(to)
            assert (self.order.status, self.order.seq) == (to, self.seq + 1)
            self.seq = self.order.seq
        else:
            with pytest.raises(fsm.InvalidTransition):
                self.order.apply(to)
            assert (self.order.status, self.order.seq) == (before, self.seq)

    @invariant()
    def stays_in_the_table(self) -> None:
        assert self.order.status in fsm.STATUS_NAMES
        assert self.order.seq == self.seq

    @invariant()
    def terminal_is_absorbing(self) -> None:
        if self.ended is not None:
            assert self.order.status == self.ended
        elif fsm.is_terminal(self.order.status):
            self.ended = self.order.status
            assert not any(fsm.allowed(self.ended, b) for b in fsm.STATUS_NAMES)


OrderWalk.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
test_fsm_random_walks_through_apply_stay_in_the_table = OrderWalk.TestCase


@settings(max_examples=300, deadline=None)
@given(walk=st.lists(st.sampled_from(fsm.STATUS_NAMES), max_size=60))
def test_fsm_seq_strictly_rises_along_any_walk(walk: list[str]) -> None:
    o = live_order()
    seqs = [o.seq]
    for to in walk:
        with contextlib.suppress(fsm.InvalidTransition):
            o.apply(to)
        seqs.append(o.seq)
    assert all(b - a in (0, 1) for a, b in itertools.pairwise(seqs))
    changes = [b for a, b in itertools.pairwise(seqs) if b > a]
    assert changes == list(range(2, 2 + len(changes)))


def test_fsm_market_order_happy_path_is_allowed():
    path = ["pending", "routing", "building", "submitted", "confirmed", "filled"]
    for a, b in itertools.pairwise(path):
        fsm.check(a, b)


def test_fsm_invalid_transition_is_value_error():
    assert issubclass(fsm.InvalidTransition, ValueError)
