"""The worker's group commit writes its events by COPY, with eventIds and shard offsets taken
first (service/store/batch.py): what is stored, and the positions it returns, are what the
INSERT ... RETURNING it replaced gave, whatever the text of a clientId or a payload."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from service.config import Settings
from service.domain.cursor import Position
from service.store import batch as store
from service.store.orders import OrderStore

pytestmark = pytest.mark.integration

AWKWARD = [
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "back\\slash",
    "\\N",  # COPY's NULL marker, as text
    'quote " and \\" escaped',
    "unicode é ✓ \u2028",
]


def _order(client_id: str, shard: int) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(), "client_id": client_id, "client_order_id": None, "idem_key": None,
        "request_hash": "h", "symbol": "SOL/USDC", "side": "buy", "type": "market",
        "time_in_force": "IOC", "amount": 1000, "limit_price": None, "expires_at": None,
        "slippage_bps": 50, "ts": datetime.now(UTC), "payload": {"filled": "0"},
        "shard": shard,
    }  # fmt: skip


def test_copied_events_are_stored_as_given_with_the_positions_returned(
    settings: Settings,
) -> None:
    api = OrderStore(settings.database_url, size=1)
    api.open()
    try:
        values = [_order(f"c{i}", i % 2) for i in range(4)]
        pending = [got for got in api.insert_many(values) if got is not None]
    finally:
        api.close()
    assert len(pending) == 4
    last_offset = {0: 0, 1: 0}
    for _row, position in pending:
        last_offset[position.shard] = max(last_offset[position.shard], position.offset)
    now = datetime.now(UTC)
    events = []
    for i, text in enumerate(AWKWARD * 2):
        v = values[i % 4]
        events.append(
            {
                "order_id": str(v["id"]),
                "client_id": text,
                "seq": 2 + i // 4,
                "status": "routing",
                "ts": now,
                "payload": {"note": text, "nested": {"k": [text, 1, None]}, "big": 2**70},
                "shard": v["shard"],
            }
        )

    async def commit() -> dict[tuple[str, int], Position]:
        conn = await store.connect(settings.database_url)
        try:
            return await store.commit_batch(
                conn, orders=[], events=events, fills=[], attempts=[], pools=[], markets=[],
                now=now,
            )  # fmt: skip
        finally:
            await conn.close()

    got = asyncio.run(commit())
    assert list(got) == [(e["order_id"], e["seq"]) for e in events]
    ids = [got[(e["order_id"], e["seq"])].event_id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert min(ids) > max(position.event_id for _, position in pending)
    expected_offsets = dict(last_offset)
    for e in events:
        expected_offsets[e["shard"]] += 1
        assert got[(e["order_id"], e["seq"])].offset == expected_offsets[e["shard"]]
    with psycopg.connect(settings.database_url) as c:
        rows = c.execute(
            "SELECT order_id::text, seq, event_id, client_id, status, ts, payload::text, shard,"
            " shard_offset FROM order_events WHERE seq > 1 ORDER BY event_id"
        ).fetchall()
        heads = dict(c.execute("SELECT shard, last FROM shard_offsets").fetchall())
    assert heads == expected_offsets
    assert len(rows) == len(events)
    for e, (oid, seq, event_id, client_id, status, ts, payload, shard, offset) in zip(
        events, rows, strict=True
    ):
        assert (oid, seq, status, ts, shard) == (
            e["order_id"], e["seq"], e["status"], now, e["shard"],
        )  # fmt: skip
        assert got[(oid, seq)] == Position(event_id, shard, offset)
        assert client_id == e["client_id"]
        assert json.loads(payload) == e["payload"]  # (an int past 64 bits: not orjson's)
