"""The worker's group commit in SQL: one transaction per batch writes every order row,
event, fill, attempt, mock-chain transaction (store/chain.py), pool and market row of the
batch, one statement per table, all sent
in one pipeline (one round trip for the whole transaction). The rows come in as dicts by
column name; the writer (service/worker/writer.py) decides what goes in a batch.
"""

from __future__ import annotations

import json
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
# the statement adds the batch's count per shard to that shard's `shard_offsets` row (an
# upsert, in shard order, so two writers lock the rows they share in the same order and
# cannot deadlock) and numbers the shard's events of the batch after the previous last,
# in batch order. The row stays locked until COMMIT: offsets follow commit order.
INSERT_EVENTS = (
    "WITH e AS (SELECT *, row_number() OVER (PARTITION BY shard ORDER BY ord) AS k"
    " FROM ROWS FROM (json_to_recordset(%s::json) AS (order_id uuid, client_id text,"
    " seq integer, status text, ts timestamptz, payload json, shard integer)) WITH ORDINALITY"
    " AS e(order_id, client_id, seq, status, ts, payload, shard, ord)),"
    " n AS (SELECT shard, count(*) AS n FROM e GROUP BY shard),"
    " taken AS (INSERT INTO shard_offsets AS s (shard, last)"
    " SELECT shard, n FROM n ORDER BY shard"
    " ON CONFLICT (shard) DO UPDATE SET last = s.last + EXCLUDED.last RETURNING s.shard, s.last)"
    " INSERT INTO order_events (order_id, client_id, seq, status, ts, payload, shard,"
    " shard_offset)"
    " SELECT e.order_id, e.client_id, e.seq, e.status, e.ts, e.payload, e.shard,"
    " taken.last - n.n + e.k FROM e JOIN n USING (shard) JOIN taken USING (shard)"
    " ORDER BY e.ord"
    " RETURNING order_id::text, seq, event_id, shard, shard_offset"
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
    when the `confirmed`, fills and pools it made are."""
    returned = conn.cursor()
    async with conn.pipeline(), conn.transaction(), conn.cursor() as cur:
        if fence is not None:
            await cur.execute(FENCE, fence)
        if orders:
            await cur.execute(UPDATE_ORDERS, (_json_rows(orders), len(orders)))
        if events:
            await returned.execute(INSERT_EVENTS, (_json_rows(events),))
        if fills:
            await cur.execute(INSERT_FILLS, (_json_rows(fills),))
        if attempts:
            await cur.execute(UPSERT_ATTEMPTS, (_json_rows(attempts),))
        if chain:
            await cur.execute(UPSERT_TRANSACTIONS, (_json_rows(chain),))
        if pools:
            rows = [
                {"symbol": sym, "venue": venue, "kind": state["kind"], "state": state, "version": v}
                for sym, venue, state, v in pools
            ]
            await cur.execute(WRITE_POOLS, (_json_rows(rows), now))
        if markets:
            await cur.executemany(
                UPDATE_MARKET, [(ref, launched, now, sym) for sym, ref, launched in markets]
            )
    if not events:
        return {}
    return {
        (oid, seq): Position(eid, sh, off) for oid, seq, eid, sh, off in await returned.fetchall()
    }


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
