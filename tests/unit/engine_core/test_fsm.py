"""The order state machine table."""

from __future__ import annotations

import itertools

import pytest

from engine_core import fsm

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


def test_fsm_codes_match_names():
    assert [fsm.code(s) for s in fsm.STATUS_NAMES] == list(range(len(fsm.STATUS_NAMES)))
    with pytest.raises(KeyError):
        fsm.code("bogus")


def test_fsm_market_order_happy_path_is_allowed():
    path = ["pending", "routing", "building", "submitted", "confirmed", "filled"]
    for a, b in itertools.pairwise(path):
        fsm.check(a, b)


def test_fsm_invalid_transition_is_value_error():
    assert issubclass(fsm.InvalidTransition, ValueError)
