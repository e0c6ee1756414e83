"""The engine's promises, checked on what PostgreSQL holds after a run (used by
tests/e2e/test_crash.py and bench/chaos/chaos.py):

- every order is in a final state;
- no order executed twice: at most one `landed` attempt per order, exactly one per order
  with fills, every fill carries that attempt's number and transaction, and `orders.tx_hash`
  is that transaction;
- each order's events are numbered 1..N with no gap, in time order, start `pending`, follow
  the state table, and end in `orders.status`; `orders.seq` is N;
- `orders.filled` is the sum of its fills and `orders.quote_amount` the sum of their quote;
- optionally, every venue's pools moved by exactly the fills recorded against them (the base
  token the pools hold changed by sells minus buys), so no swap landed without its fills or
  twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from engine_core import fsm


@dataclass
class Report:
    orders: int = 0
    final: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    executed_twice: int = 0  # more than one landed attempt, or fills of two transactions
    fills_without_landing: int = 0  # fills or a filled order with no landed attempt
    seq_gaps: int = 0  # events not numbered 1..N, or out of time order
    seq_mismatch: int = 0  # orders.seq != the last event's seq, or status != last event's
    bad_transitions: int = 0  # consecutive events not allowed by the state table
    fills_mismatch: int = 0  # sum(fills) != orders.filled / quote_amount
    pool_mismatch: int = 0  # venues whose pools moved by other than their fills
    unexplained: int = 0  # failed with no failureReason, failed attempts with no error,
    # attempts still `submitted` on a final order
    attempts: int = 0
    landed: int = 0
    attempt_errors: dict[str, int] = field(default_factory=dict)  # failed attempts by error
    failure_reasons: dict[str, int] = field(default_factory=dict)  # failed orders by reason
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.final == self.orders
            and self.executed_twice == 0
            and self.fills_without_landing == 0
            and self.seq_gaps == 0
            and self.seq_mismatch == 0
            and self.bad_transitions == 0
            and self.fills_mismatch == 0
            and self.pool_mismatch == 0
            and self.unexplained == 0
        )

    def note(self, what: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(what)

    def summary(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "final": self.final,
            "statuses": self.statuses,
            "executed_twice": self.executed_twice,
            "fills_without_landing": self.fills_without_landing,
            "seq_gaps": self.seq_gaps,
            "seq_mismatch": self.seq_mismatch,
            "bad_transitions": self.bad_transitions,
            "fills_mismatch": self.fills_mismatch,
            "pool_mismatch": self.pool_mismatch,
            "unexplained": self.unexplained,
            "attempts": self.attempts,
            "landed": self.landed,
            "attempt_errors": self.attempt_errors,
            "failure_reasons": self.failure_reasons,
            "problems": self.problems,
        }


def pool_base_totals(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], int]:
    """The base token each venue's pool holds, by (symbol, venue)."""
    out: dict[tuple[str, str], int] = {}
    for symbol, venue, state in conn.execute("SELECT symbol, venue, state FROM pools"):
        if state["kind"] == "cpmm":
            out[(symbol, venue)] = int(state["base_reserve"])
        else:  # dlmm: bins as runs [count, base, quote], and the base fees kept
            bins = sum(int(n) * int(x) for n, x, _ in state["bins"])
            out[(symbol, venue)] = bins + int(state.get("fees_base", 0))
    return out


def final_count(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """(orders, orders in a final state)."""
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = ANY(%s)) FROM orders",
        (sorted(fsm.TERMINAL),),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def check_invariants(dsn: str, pools_before: dict[tuple[str, str], int] | None = None) -> Report:
    """Check every order of the database at `dsn` (see the module docstring). Give
    `pools_before` (pool_base_totals before the run) when only this run's orders (and no
    simulator trades) moved the pools."""
    r = Report()
    with psycopg.connect(dsn) as conn:
        orders: dict[str, tuple[Any, ...]] = {}
        reasons: Counter[str] = Counter()
        for oid, status, seq, filled, quote, tx, attempts, reason in conn.execute(
            "SELECT id, status, seq, filled, quote_amount, tx_hash, attempts, failure_reason"
            " FROM orders"
        ):
            orders[str(oid)] = (status, seq, filled, quote, tx, attempts)
            if status == "failed":
                reasons[str(reason)] += 1
                if not reason:
                    r.unexplained += 1
                    r.note(f"{oid}: failed with no failureReason")
        events: dict[str, list[tuple[int, str, Any, int]]] = {}
        for oid, seq, status, ts, event_id in conn.execute(
            "SELECT order_id, seq, status, ts, event_id FROM order_events ORDER BY order_id, seq"
        ):
            events.setdefault(str(oid), []).append((seq, status, ts, event_id))
        landed: dict[str, list[tuple[int, str]]] = {}
        attempt_rows = 0
        errors: Counter[str] = Counter()
        in_doubt: set[str] = set()
        for oid, attempt, tx, status, error in conn.execute(
            "SELECT order_id, attempt, tx_hash, status, error FROM attempts"
        ):
            attempt_rows += 1
            if status == "failed":
                errors[str(error)] += 1
                if not error:
                    r.unexplained += 1
                    r.note(f"{oid}: attempt {attempt} failed with no error")
            if status == "submitted":
                in_doubt.add(str(oid))
            if status == "landed":
                landed.setdefault(str(oid), []).append((attempt, tx))
        fills: dict[str, list[tuple[int, str, int, int, str | None]]] = {}
        venue_fills: Counter[tuple[str, str]] = Counter()
        for oid, attempt, venue, amount, quote, tx, symbol, side in conn.execute(
            "SELECT f.order_id, f.attempt, f.venue, f.amount, f.quote_amount, f.tx_hash,"
            " o.symbol, o.side FROM fills f JOIN orders o ON o.id = f.order_id"
        ):
            fills.setdefault(str(oid), []).append((attempt, venue, amount, quote, tx))
            if venue != "internal":
                venue_fills[(symbol, venue)] += amount if side == "sell" else -amount
        pools_after = pool_base_totals(conn) if pools_before is not None else {}

    r.orders = len(orders)
    r.attempts = attempt_rows
    r.attempt_errors = dict(errors)
    r.failure_reasons = dict(reasons)
    r.statuses = dict(Counter(o[0] for o in orders.values()))
    for oid, (status, seq, filled, quote, tx, _attempts) in orders.items():
        if fsm.is_terminal(status):
            r.final += 1
            if oid in in_doubt:
                r.unexplained += 1
                r.note(f"{oid}: {status} with an attempt still submitted")
        else:
            r.note(f"{oid}: not final ({status})")
        # -- executed at most once --
        lands = landed.get(oid, [])
        r.landed += len(lands)
        ofills = fills.get(oid, [])
        if len(lands) > 1:
            r.executed_twice += 1
            r.note(f"{oid}: {len(lands)} landed attempts")
        elif lands:
            attempt, ltx = lands[0]
            own = [f for f in ofills if f[1] != "internal" or f[4] == ltx]
            if any(f[0] != attempt or f[4] != ltx for f in own) or not own or tx != ltx:
                r.executed_twice += 1
                r.note(f"{oid}: fills/tx do not all belong to landed attempt {attempt}")
        elif any(f[1] != "internal" for f in ofills):
            # only a resting maker is filled without a transaction of its own
            r.fills_without_landing += 1
            r.note(f"{oid}: {status} with venue fills but no landed attempt")
        # -- fills add up --
        if sum(f[2] for f in ofills) != filled or sum(f[3] for f in ofills) != quote:
            r.fills_mismatch += 1
            r.note(f"{oid}: fills sum to {sum(f[2] for f in ofills)}, filled {filled}")
        if status == "filled" and filled == 0:
            r.fills_mismatch += 1
        # -- events: 1..N, in time order, by the state table --
        evs = events.get(oid, [])
        seqs = [e[0] for e in evs]
        if seqs != list(range(1, len(evs) + 1)) or any(
            a[2] > b[2] or a[3] > b[3] for a, b in zip(evs, evs[1:], strict=False)
        ):
            r.seq_gaps += 1
            r.note(f"{oid}: event seqs {seqs}")
        if not evs or seq != evs[-1][0] or status != evs[-1][1]:
            r.seq_mismatch += 1
            r.note(f"{oid}: orders.seq {seq}/{status}, last event {evs[-1][:2] if evs else None}")
        statuses = [e[1] for e in evs]
        if (
            not statuses
            or statuses[0] != "pending"
            or not all(fsm.allowed(a, b) for a, b in zip(statuses, statuses[1:], strict=False))
        ):
            r.bad_transitions += 1
            r.note(f"{oid}: transitions {statuses}")
    if pools_before is not None:
        for key, before in pools_before.items():
            moved = pools_after.get(key, before) - before
            if moved != venue_fills.get(key, 0):
                r.pool_mismatch += 1
                r.note(f"{key}: pool base moved {moved}, fills say {venue_fills.get(key, 0)}")
    return r
