"""The worker's group commit in SQL: one transaction per batch writes every order row,
event, fill, attempt, mock-chain transaction (store/chain.py), pool and market row of the
batch, one statement per table (the events by COPY), in three round trips. The rows come in
as dicts by column name; the writer (service/worker/writer.py) decides what goes in a batch.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_dumps

from service.domain.cursor import Position
from service.store.chain import UPSERT_TRANSACTIONS
from service.store.fencing import FENCE, WRITER_APP

# Each pool row at the version the writer read (a new one inserted): oe_write_pools,
# migration 0004, raises OEP01 otherwise.
WRITE_POOLS = "SELECT oe_write_pools(%s::json, %s)"
UPDATE_MARKET = (
    "UPDATE markets SET reference_price = %s, launched = %s, updated_at = %s WHERE symbol = %s"
)
# Each statement takes its rows as ONE json parameter
# (orjson on this side, json_to_recordset on the server's): psycopg's Python array dumper
# would cost more than everything else of the batch. An order changed several times in one
# batch gets one UPDATE, to its last state; an attempt likewise one upsert.
# The LIMIT (the number of rows) is the planner's row estimate: a bare function scan counts
# as 100 rows, for which a hash join over a sequential scan of `orders` looked cheaper than
# index lookups, and every batch read the whole table (3 ms a batch at 3,000 orders, and
# growing with the table).
UPDATE_ORDERS = (
    "UPDATE orders o SET status = u.status, seq = u.seq, filled = u.filled,"
    " quote_amount = u.quote_amount, fees = u.fees, attempts = u.attempts,"
    " tx_hash = u.tx_hash, failure_reason = u.failure_reason,"
    " route = COALESCE(u.route, o.route), updated_at = u.ts"
    " FROM (SELECT * FROM json_to_recordset(%s::json) AS r(id uuid, status text, seq integer,"
    " filled bigint, quote_amount bigint, fees bigint, attempts integer, tx_hash text,"
    " failure_reason text, route jsonb, ts timestamptz) LIMIT %s) AS u WHERE o.id = u.id"
)
# Each event's position in its shard's log (service/store/migrations/0005_shard_log.sql):
# TAKE_OFFSETS adds the batch's count per shard to that shard's `shard_offsets` row (an
# upsert, in shard order, so two writers lock the rows they share in the same order and
# cannot deadlock) and returns the new last; the shard's events of the batch are numbered
# after the previous last, in batch order. The row stays locked until COMMIT: offsets follow
# commit order. TAKE_EVENT_IDS takes the batch's eventIds from the column's own sequence, in
# batch order (as the inserts' defaults would have). With both known before the rows are
# sent, the events go in by COPY (a third of the server's cost of an INSERT ... SELECT FROM
# json_to_recordset ... RETURNING), and nothing comes back per event.
TAKE_OFFSETS = (
    "INSERT INTO shard_offsets AS s (shard, last)"
    " SELECT shard, n FROM unnest(%s::integer[], %s::bigint[]) AS t(shard, n) ORDER BY shard"
    " ON CONFLICT (shard) DO UPDATE SET last = s.last + EXCLUDED.last RETURNING s.shard, s.last"
)
TAKE_EVENT_IDS = (
    "SELECT array_agg(nextval('order_events_event_id_seq') ORDER BY i)"
    " FROM generate_series(1, %s) AS i"
)
COPY_EVENTS = (
    "COPY order_events (event_id, order_id, client_id, seq, status, ts, payload, shard,"
    " shard_offset) FROM STDIN"
)
INSERT_FILLS = (
    "INSERT INTO fills (order_id, attempt, venue, amount, quote_amount, fee, tx_hash, ts)"
    " SELECT order_id, attempt, venue, amount, quote_amount, fee, tx_hash, ts"
    " FROM json_to_recordset(%s::json) AS f(order_id uuid, attempt integer, venue text,"
    " amount bigint, quote_amount bigint, fee bigint, tx_hash text, ts timestamptz)"
)
UPSERT_ATTEMPTS = (
    "INSERT INTO attempts (order_id, attempt, tx_hash, status, error, started_at, ended_at)"
    " SELECT order_id, attempt, tx_hash, status, error, started_at, ended_at"
    " FROM json_to_recordset(%s::json) AS a(order_id uuid, attempt integer, tx_hash text,"
    " status text, error text, started_at timestamptz, ended_at timestamptz)"
    " ON CONFLICT (order_id, attempt) DO UPDATE SET status = EXCLUDED.status,"
    " error = EXCLUDED.error, ended_at = COALESCE(EXCLUDED.ended_at, EXCLUDED.started_at)"
)


def _dumps(obj: Any) -> bytes:
    """orjson for json parameters; the stdlib for what it refuses (ints past 64 bits)."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        return json.dumps(obj, default=_default).encode()


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.isoformat()
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def _json_rows(rows: list[dict[str, Any]]) -> str:
    return _dumps(rows).decode()


async def connect(conninfo: str) -> psycopg.AsyncConnection[Any]:
    """The writer's connection (named, so that a takeover can end it: store/fencing.py)."""
    conn = await psycopg.AsyncConnection.connect(conninfo, application_name=WRITER_APP)
    set_json_dumps(_dumps, conn)
    # Prepared statements must not keep a plan made while the tables were empty.
    await conn.execute("SET plan_cache_mode = force_custom_plan")
    await conn.commit()
    return conn


async def commit_batch(
    conn: psycopg.AsyncConnection[Any],
    *,
    orders: list[dict[str, Any]],
    events: list[dict[str, Any]],
    fills: list[dict[str, Any]],
    attempts: list[dict[str, Any]],
    pools: list[tuple[str, str, dict[str, Any], int | None]],
    markets: list[tuple[str, Any, bool]],
    now: datetime,
    fence: tuple[list[int], list[int]] | None = None,
    chain: list[dict[str, Any]] | None = None,
) -> dict[tuple[str, int], Position]:
    """Write one batch in one transaction; returns the position of each (order id, seq).
    Each event row carries `shard`, the shard of its order's market. `fence` (shards,
    epochs): the first statement checks that each epoch is its shard's current one, or the
    transaction fails with SQLSTATE OEF01 (store/fencing.py). `chain`: the mock chain's
    ledger rows of the batch (transactions sent, landed), so a landing is stored exactly
    when the `confirmed`, fills and pools it made are.

    Three round trips: the fence, the order rows and the events' positions taken (one
    pipeline); the events by COPY (not allowed in a pipeline); the rest and the COMMIT."""
    counts: dict[int, int] = {}
    for e in events:
        counts[e["shard"]] = counts.get(e["shard"], 0) + 1
    shards = sorted(counts)
    async with conn.transaction(), conn.cursor() as cur:
        taken = conn.cursor()
        ids = conn.cursor()
        async with conn.pipeline():
            if fence is not None:
                await cur.execute(FENCE, fence)
            if orders:
                await cur.execute(UPDATE_ORDERS, (_json_rows(orders), len(orders)))
            if events:
                await taken.execute(TAKE_OFFSETS, (shards, [counts[sh] for sh in shards]))
                await ids.execute(TAKE_EVENT_IDS, (len(events),))
        got: dict[tuple[str, int], Position] = {}
        if events:
            offsets = {sh: last - counts[sh] for sh, last in await taken.fetchall()}
            row = await ids.fetchone()
            assert row is not None
            async with cur.copy(COPY_EVENTS) as copy:
                await copy.write(_event_lines(events, row[0], offsets, got))
        async with conn.pipeline():
            if fills:
                await cur.execute(INSERT_FILLS, (_json_rows(fills),))
            if attempts:
                await cur.execute(UPSERT_ATTEMPTS, (_json_rows(attempts),))
            if chain:
                await cur.execute(UPSERT_TRANSACTIONS, (_json_rows(chain),))
            if pools:
                rows = [
                    {"symbol": sym, "venue": venue, "kind": st["kind"], "state": st, "version": v}
                    for sym, venue, st, v in pools
                ]
                await cur.execute(WRITE_POOLS, (_json_rows(rows), now))
            if markets:
                await cur.executemany(
                    UPDATE_MARKET, [(ref, launched, now, sym) for sym, ref, launched in markets]
                )
    return got


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """A value in COPY's text format (backslash, tab, newline and carriage return escaped)."""
    return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value


def _event_lines(
    events: list[dict[str, Any]],
    event_ids: list[int],
    offsets: dict[int, int],
    got: dict[tuple[str, int], Position],
) -> bytes:
    """The events as COPY_EVENTS's text rows, each numbered in its shard's log after
    `offsets` (the shard's last offset before the batch), in batch order; `got` receives
    each event's position."""
    last_ts: Any = None
    ts = ""
    lines = []
    for e, event_id in zip(events, event_ids, strict=True):
        shard = e["shard"]
        offset = offsets[shard] + 1
        offsets[shard] = offset
        order_id = str(e["order_id"])
        got[(order_id, e["seq"])] = Position(event_id, shard, offset)
        if e["ts"] is not last_ts:  # a batch's events share one time
            last_ts = e["ts"]
            ts = last_ts.isoformat()
        # JSON has no raw tab or newline (they are escaped in strings): only its backslashes
        text = e.get("payload_json") or _dumps(e["payload"]).decode()
        payload = text.replace("\\", "\\\\")
        lines.append(
            f"{event_id}\t{order_id}\t{_copy_text(e['client_id'])}\t{e['seq']}\t"
            f"{e['status']}\t{ts}\t{payload}\t{shard}\t{offset}\n"
        )
    return "".join(lines).encode()


async def stored_event_ids(
    conn: psycopg.AsyncConnection[Any], first: tuple[str, int], order_ids: list[str]
) -> dict[tuple[str, int], Position] | None:
    """After a failed commit: the positions of the batch whose first event is `first`
    (order id, seq) if it was stored all the same, else None. A batch is one transaction,
    so its first event tells."""
    try:
        cur = await conn.execute(
            "SELECT 1 FROM order_events WHERE order_id = %s AND seq = %s", first
        )
        if await cur.fetchone() is None:
            return None
        cur = await conn.execute(
            "SELECT order_id, seq, event_id, shard, shard_offset FROM order_events"
            " WHERE order_id = ANY(%s::uuid[])",
            (order_ids,),
        )
        return {
            (str(oid), seq): Position(eid, sh, off)
            for oid, seq, eid, sh, off in await cur.fetchall()
        }
    finally:
        await conn.rollback()
