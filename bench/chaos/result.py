"""What a chaos run returns: its counts, notes and invariant report, and their summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.chaos.invariants import Report


@dataclass
class Result:
    scenario: str
    sent: int
    accepted: int
    in_db: int
    executing_at_break: int  # orders mid-execution (routing..confirmed) just before the break
    pending_at_break: int  # orders accepted, not yet taken, just before the break
    drain_s: float  # last acceptance -> every order final
    total_s: float
    report: Report
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.report.ok
            and self.accepted == self.sent == self.in_db - self.notes.get("probe_orders", 0)
            and self.notes["ws_orders"]["gaps_or_duplicates"] == 0
            and self.notes["ws"]["gaps_or_duplicates"] == 0
        )

    def summary(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "ok": self.ok,
            "sent": self.sent,
            "accepted": self.accepted,
            "in_db": self.in_db,
            "executing_at_break": self.executing_at_break,
            "pending_at_break": self.pending_at_break,
            "drain_s": round(self.drain_s, 2),
            "total_s": round(self.total_s, 2),
            **{k: v for k, v in self.report.summary().items() if k != "orders"},
            "notes": self.notes,
        }
