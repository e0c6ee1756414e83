"""The mock chain's signature statuses from its ledger rows, and the ledger rows a batch of
changes writes (pure: no servers)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from service.simulator.chain import ChainTx, slot_at, status_of
from service.worker.changes import Change, rows


def row(valid_until: float, landed_at: float | None = None) -> Any:
    landed = landed_at is not None
    return SimpleNamespace(
        valid_until=valid_until,
        landed_at=landed_at,
        slot=slot_at(landed_at) if landed_at is not None else None,
        outcome="ok" if landed else None,
    )


def test_a_signature_never_sent_can_never_land() -> None:
    assert status_of(None, 100.0).state == "expired"


def test_unlanded_is_valid_up_to_its_deadline_then_expired() -> None:
    assert status_of(row(100.0), 99.0).state == "valid"
    assert status_of(row(100.0), 100.0).state == "valid"
    expired = status_of(row(100.0), 100.001)
    assert expired.state == "expired" and expired.valid_until == 100.0


def test_landed_is_landed_whatever_the_time() -> None:
    for now in (50.0, 1000.0):
        s = status_of(row(100.0, landed_at=98.0), now)
        assert (s.state, s.landed_at, s.slot, s.outcome) == ("landed", 98.0, slot_at(98.0), "ok")


def test_slots_are_400_ms() -> None:
    assert slot_at(0.0) == 0 and slot_at(0.399) == 0 and slot_at(0.4) == 1
    assert slot_at(1000.0) == 2500


def change(oid: str, status: str, attempts: int, chain: ChainTx | None) -> Change:
    order = SimpleNamespace(id=oid, client_id="c", symbol="SOL/USDC")
    row = (status, 1, 0, 0, 0, attempts, None, None)
    return Change(cast(Any, order), status, 1, {}, chain=chain, row=row)


def test_a_batch_writes_one_ledger_row_per_transaction() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    a1 = ChainTx("sig-a1", 10.0, 70.0)
    b2 = ChainTx("sig-b2", 11.0, 71.0)
    c1 = ChainTx("sig-c1", 5.0, 65.0)
    batch = [
        change("a", "submitted", 1, a1),
        change("b", "submitted", 2, b2),
        change("a", "confirmed", 1, a1.landing()),  # sent and landed in this batch: one row
        change("c", "confirmed", 1, c1.landing()),  # sent in an earlier batch
        change("b", "routing", 3, None),
    ]
    got = rows(batch, now, lambda _: 0)["chain"]
    slot = slot_at(now.timestamp())
    assert got == [
        {
            "signature": "sig-a1", "order_id": "a", "attempt": 1, "sent_at": 10.0,
            "valid_until": 70.0, "landed_at": now, "slot": slot, "outcome": "ok",
        },
        {
            "signature": "sig-b2", "order_id": "b", "attempt": 2, "sent_at": 11.0,
            "valid_until": 71.0, "landed_at": None, "slot": None, "outcome": None,
        },
        {
            "signature": "sig-c1", "order_id": "c", "attempt": 1, "sent_at": 5.0,
            "valid_until": 65.0, "landed_at": now, "slot": slot, "outcome": "ok",
        },
    ]  # fmt: skip
