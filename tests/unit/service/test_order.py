"""LiveOrder.apply: the one place an order's status and event number change, checked by the
state table before anything moves."""

from __future__ import annotations

import pytest

from engine_core.fsm import InvalidTransition
from tests.helpers.orders import live_order as order


def test_apply_moves_status_and_seq_and_returns_the_event_payload():
    o = order()
    payload = o.apply("routing", {"route": {"legs": []}})
    assert (o.status, o.seq) == ("routing", 2)
    assert payload["remaining"] == "1.5" and payload["route"] == {"legs": []}
    assert o.row()[:2] == ("routing", 2)


def test_apply_refuses_a_transition_not_in_the_table_and_changes_nothing():
    o = order()
    with pytest.raises(InvalidTransition):
        o.apply("filled")
    assert (o.status, o.seq) == ("pending", 1)


def test_apply_extra_fields_do_not_leak_into_later_payloads():
    o = order()
    o.apply("routing", {"route": {"legs": []}})
    assert "route" not in o.apply("building")
