"""The CLI client tests' fakes (tests/unit/service/conftest.py serves them): an order as the
API sends it, what the fake API saw, the relay's scripts and events, running the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from service.runtime.cli import main

OID = "4b0c1e8e-0000-4000-8000-000000000001"


def order(**over: Any) -> dict[str, Any]:
    o = {
        "id": OID,
        "clientId": "c1",
        "clientOrderId": None,
        "symbol": "SOL/USDC",
        "side": "buy",
        "type": "market",
        "timeInForce": "GTC",
        "amount": "1.5",
        "limitPrice": None,
        "expiresAt": None,
        "slippageBps": 50,
        "status": "pending",
        "filled": "0",
        "remaining": "1.5",
        "avgPrice": None,
        "quoteAmount": "0",
        "fees": "0",
        "route": None,
        "fills": [],
        "txHash": None,
        "attempts": 0,
        "failureReason": None,
        "createdAt": "2026-11-25T20:01:02.345Z",
        "updatedAt": "2026-11-25T20:01:02.345Z",
        "seq": 1,
    }
    o.update(over)
    return o


# --------------------------------------------------------------------------- fake API


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeApi:
    url: str
    routes: dict[tuple[str, str], tuple[int, Any, dict[str, str]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def answer(
        self, method: str, path: str, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        self.routes[(method, path)] = (status, body, headers or {})


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def event(seq: int, status: str, oid: str = OID, **over: Any) -> str:
    p = {
        "id": oid, "status": status, "seq": seq, "eventId": 100 + seq,
        "filled": "1.5" if status in ("confirmed", "filled") else "0",
        "remaining": "0" if status in ("confirmed", "filled") else "1.5",
        "avgPrice": "150.1" if status in ("confirmed", "filled") else None,
        "txHash": "3xYabcdefghijk" if status in ("confirmed", "filled") else None,
        "failureReason": None, "attempts": 1, "ts": f"2026-11-25T20:01:0{seq}.000Z",
    }  # fmt: skip
    p.update(over)
    return json.dumps({"event": "order:update", "payload": p})


SIX = ["pending", "routing", "building", "submitted", "confirmed", "filled"]


@dataclass
class FakeRelay:
    url: str
    paths: list[str] = field(default_factory=list)
    # One script per connection: the messages to send, then None = close, or keep open.
    scripts: list[tuple[list[str], bool]] = field(default_factory=list)
    reject: int | None = None
