"""A status change as the writer queues it (the order row as of the change, its event, fills,
attempt, the mock-chain transaction it sent or landed, the pools it moved), how many of the
queue the next batch takes, and a batch as rows by column name. Pure: no I/O."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.cursor import Position
from service.domain.order import LiveOrder
from service.domain.wire import stored_payload
from service.simulator.chain import ChainTx, slot_at

ORDER_FIELDS = (
    "status", "seq", "filled", "quote_amount", "fees", "attempts", "tx_hash", "failure_reason"
)  # fmt: skip  # the order of Change.row


@dataclass(slots=True)
class Fill:
    venue: str
    amount: int
    quote_amount: int
    fee: int
    tx_hash: str | None


@dataclass(slots=True)
class Change:
    order: LiveOrder
    status: str
    seq: int
    payload: dict[str, Any]
    route: dict[str, Any] | None = None
    fills: Sequence[Fill] = ()
    attempt: tuple[int, str, str, str | None] | None = None  # (n, tx_hash, status, error)
    pools: tuple[str, ...] = ()  # (symbol) whose pool state this change moved
    chain: ChainTx | None = None  # the transaction this change sent (submitted) or landed
    final: bool = False
    # the order row as of this change: status, seq, filled, quote_amount, fees, attempts,
    # tx_hash, failure_reason (the order may move on before the batch commits)
    row: tuple[Any, ...] = ()
    done: asyncio.Future[Position] | None = None
    # the payload's WebSocket fields as JSON (LiveOrder.fields_json; "": render `payload`),
    # and what the change added to them (payload = those fields + extra)
    fields: str = ""
    extra: dict[str, Any] | None = None


def cut(queue: list[Change], touched: Iterable[str], most: int) -> int:
    """How many of the queued changes the next batch takes: `most`, or more when a change
    further on moved a pool the batch stores (the pools in memory already hold its fills;
    stored without it, a crash before the next commit would leave pools ahead of fills)."""
    n = min(len(queue), most)
    if n == len(queue):
        return n
    moved = {s for c in queue[:n] for s in c.pools} | set(touched)
    while True:
        last = max(
            (i for i in range(n, len(queue)) if moved.intersection(queue[i].pools)), default=-1
        )
        if last < 0:
            return n
        moved |= {s for c in queue[n : last + 1] for s in c.pools}
        n = last + 1


def rows(
    batch: list[Change], now: datetime, shard: Callable[[str], int]
) -> dict[str, list[dict[str, Any]]]:
    """The batch as rows by column name: one order row per order (its last state), one event
    per change in order (with its market's shard), every fill, one attempt row
    per attempt (as the upserts of its changes would have left it), one ledger row per
    transaction sent or landed (landed at the batch's time: it lands when it commits)."""
    last: dict[str, Change] = {}  # each order's last change of the batch
    routes: dict[str, dict[str, Any]] = {}
    for c in batch:
        last[c.order.id] = c
        if c.route is not None:
            routes[c.order.id] = c.route
    shards: dict[str, int] = {}
    for c in batch:
        symbol = c.order.symbol
        if symbol not in shards:
            shards[symbol] = shard(symbol)
    orders = []
    for oid, c in last.items():
        row = dict(zip(ORDER_FIELDS, c.row, strict=True))
        row["id"] = oid
        row["route"] = routes.get(oid)
        row["ts"] = now
        orders.append(row)
    events = [
        {
            "order_id": c.order.id,
            "client_id": c.order.client_id,
            "seq": c.seq,
            "status": c.status,
            "ts": now,
            "payload": c.payload,
            "payload_json": stored_payload(c.fields, c.extra) if c.fields else None,
            "shard": shards[c.order.symbol],
        }
        for c in batch
    ]
    fills = [
        {
            "order_id": c.order.id,
            "attempt": c.row[ORDER_FIELDS.index("attempts")],
            "venue": f.venue,
            "amount": f.amount,
            "quote_amount": f.quote_amount,
            "fee": f.fee,
            "tx_hash": f.tx_hash,
            "ts": now,
        }
        for c in batch
        for f in c.fills
    ]
    attempts: dict[tuple[str, int], dict[str, Any]] = {}
    for c in batch:
        if c.attempt:
            n, tx, status, error = c.attempt
            a = attempts.get((c.order.id, n))
            if a is None:  # first change of this attempt in the batch: insert as it
                attempts[(c.order.id, n)] = {
                    "order_id": c.order.id,
                    "attempt": n,
                    "tx_hash": tx,
                    "status": status,
                    "error": error,
                    "started_at": now,
                    "ended_at": None,
                }
            else:  # a later one: as the upsert of it would have left the row
                a.update(status=status, error=error, ended_at=now)
    chain: dict[str, dict[str, Any]] = {}
    slot = None
    for c in batch:
        sent = c.chain
        if sent is None:
            continue
        t = chain.get(sent.signature)
        if t is None:
            t = chain[sent.signature] = {
                "signature": sent.signature,
                "order_id": c.order.id,
                "attempt": c.row[ORDER_FIELDS.index("attempts")],
                "sent_at": sent.sent_at,
                "valid_until": sent.valid_until,
                "landed_at": None,
                "slot": None,
                "outcome": None,
            }
        if sent.landed:
            if slot is None:
                slot = slot_at(now.timestamp())
            t.update(landed_at=now, slot=slot, outcome="ok")
    return {
        "orders": orders,
        "events": events,
        "fills": fills,
        "attempts": list(attempts.values()),
        "chain": list(chain.values()),
    }
