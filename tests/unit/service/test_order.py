"""LiveOrder.apply: the one place an order's status and event number change, checked by the
state table before anything moves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine_core.fsm import InvalidTransition
from service.config import DEFAULT_MARKETS_FILE
from service.domain.markets import load_markets
from service.domain.order import LiveOrder

SOL = load_markets(DEFAULT_MARKETS_FILE)["SOL/USDC"]


def order(status: str = "pending", seq: int = 1) -> LiveOrder:
    row = ("id-1", "c1", "SOL/USDC", "buy", "market", "GTC", 1_500_000_000, None, 50, status,
           seq, 0, 0, 0, 0, None, None, datetime.now(UTC), None)  # fmt: skip
    return LiveOrder.from_row(row, SOL)


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
