"""Group commit for one worker: every status change queued by any in-flight order is written
in one transaction per batch (order row + event row + fills + attempt + pool state), then
published on pub/sub, then its stream entries are acknowledged if the order is final.

A change's future resolves only once it is durable, so an order's next step never runs ahead
of its stored state. The batch and the pool snapshot are taken with no await in between, so
the stored pool state is exactly the fills committed with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import redis.asyncio as aioredis
from psycopg.types.json import Jsonb, set_json_dumps

from engine_core import fsm
from service.domain.order import LiveOrder
from service.domain.wire import iso, pubsub_batch, pubsub_frame, ws_message
from service.metrics import engine_batch_size, engine_events_published_total

log = logging.getLogger(__name__)

MAX_BATCH = 512

UPSERT_POOL = (
    "INSERT INTO pools (symbol, venue, kind, state, updated_at) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (symbol, venue) DO UPDATE"
    " SET state = EXCLUDED.state, version = pools.version + 1, updated_at = EXCLUDED.updated_at"
)
UPDATE_MARKET = (
    "UPDATE markets SET reference_price = %s, launched = %s, updated_at = %s WHERE symbol = %s"
)
# A batch is written with one statement per table, all of them sent in one pipeline (one
# round trip for the whole transaction). Each statement takes its rows as ONE json parameter
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
INSERT_EVENTS = (
    "INSERT INTO order_events (order_id, client_id, seq, status, ts, payload)"
    " SELECT order_id, client_id, seq, status, ts, payload FROM ROWS FROM ("
    "json_to_recordset(%s::json) AS (order_id uuid, client_id text, seq integer, status text,"
    " ts timestamptz, payload json)) WITH ORDINALITY"
    " AS e(order_id, client_id, seq, status, ts, payload, ord) ORDER BY ord"
    " RETURNING order_id::text, seq, event_id"
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
ORDER_FIELDS = (
    "status", "seq", "filled", "quote_amount", "fees", "attempts", "tx_hash", "failure_reason"
)  # fmt: skip  # the order of Change.row
PUBLISH_CHUNK = 256  # events per pub/sub message


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


# A resting order's stream entry is done with once `open` is durable: the book is rebuilt
# from PostgreSQL, not from the stream.
ACK_STATUSES = frozenset({"open", "partially_filled"})


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
    final: bool = False
    # the order row as of this change: status, seq, filled, quote_amount, fees, attempts,
    # tx_hash, failure_reason (the order may move on before the batch commits)
    row: tuple[Any, ...] = ()
    done: asyncio.Future[int] | None = None


class EventWriter:
    def __init__(
        self,
        conninfo: str,
        redis: aioredis.Redis,
        channel: str,
        stream_group: str,
        pool_states: Callable[[str], list[tuple[str, dict[str, Any]]]],
        market_row: Callable[[str], tuple[Any, bool]],
    ) -> None:
        self._conninfo = conninfo
        self._redis = redis
        self._channel = channel
        self._group = stream_group
        self._pool_states = pool_states
        self._market_row = market_row
        self._touched: dict[str, list[asyncio.Future[None]]] = {}
        self._queue: list[Change] = []
        self._wake = asyncio.Event()
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._stopping = False
        self.healthy = True

    # -- COMMANDS --
    def transition(
        self, order: LiveOrder, status: str, *, extra: dict[str, Any] | None = None, **kw: Any
    ) -> asyncio.Future[int]:
        """Move `order` to `status` (LiveOrder.apply: refused unless the state table allows
        it) and queue the change; the returned future gives the event id once committed."""
        payload = order.apply(status, extra)
        change = Change(
            order, status, order.seq, payload, final=fsm.is_terminal(status), row=order.row(), **kw
        )
        change.done = asyncio.get_running_loop().create_future()
        self._queue.append(change)
        self._wake.set()
        return change.done

    def touch(self, symbol: str) -> asyncio.Future[None]:
        """Store the market's pools and reference price with the next batch (a price move
        with no order in it); the future resolves once that is durable."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._touched.setdefault(symbol, []).append(fut)
        self._wake.set()
        return fut

    async def run(self) -> None:
        while not (self._stopping and not self._queue and not self._touched):
            if not self._queue and not self._touched:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                except TimeoutError:
                    pass
                continue
            batch = self._queue[:MAX_BATCH]
            del self._queue[:MAX_BATCH]
            touched, self._touched = self._touched, {}
            # Snapshot now, with no await since the changes were queued: the stored pools
            # hold exactly the fills of this batch and of those before it.
            symbols = sorted({s for c in batch for s in c.pools} | set(touched))
            pools = [
                (sym, venue, state) for sym in symbols for venue, state in self._pool_states(sym)
            ]
            markets = [(sym, *self._market_row(sym)) for sym in symbols]
            # One time for the batch: its events' ts, the orders' updated_at, the pools'.
            now = datetime.now(UTC)
            event_ids = await self._commit_until_done(batch, pools, markets, now)
            if batch:
                engine_batch_size.observe(len(batch))
                await self._publish(batch, event_ids, now)
            for futures in touched.values():
                for fut in futures:
                    if not fut.done():
                        fut.set_result(None)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    # -- internals --
    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._conninfo)
            set_json_dumps(_dumps, self._conn)
            # Prepared statements must not keep a plan made while the tables were empty.
            await self._conn.execute("SET plan_cache_mode = force_custom_plan")
            await self._conn.commit()
        return self._conn

    async def _commit_until_done(
        self,
        batch: list[Change],
        pools: list[tuple[str, str, dict[str, Any]]],
        markets: list[tuple[str, Any, bool]],
        now: datetime,
    ) -> list[int]:
        delay = 0.05
        failed = False
        while True:
            try:
                if failed and batch:
                    stored = await self._stored_ids(batch)
                    if stored is not None:
                        self.healthy = True
                        return stored
                ids = await self._commit(batch, pools, markets, now)
                self.healthy = True
                return ids
            except psycopg.OperationalError as e:
                # PostgreSQL unreachable: nothing of this batch is stored (or, if the
                # connection broke after the COMMIT reached the server, all of it, which the
                # next try finds out); keep it and retry.
                failed = True
                self.healthy = False
                log.warning("worker commit failed (%s); retrying in %.2fs", e, delay)
                if self._conn is not None:
                    await self._conn.close()
                    self._conn = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _stored_ids(self, batch: list[Change]) -> list[int] | None:
        """After a failed commit: the batch's event ids if it was stored all the same, else
        None. A batch is one transaction, so its first event tells."""
        conn = await self._connection()
        try:
            first = batch[0]
            cur = await conn.execute(
                "SELECT 1 FROM order_events WHERE order_id = %s AND seq = %s",
                (first.order.id, first.seq),
            )
            if await cur.fetchone() is None:
                return None
            cur = await conn.execute(
                "SELECT order_id, seq, event_id FROM order_events WHERE order_id = ANY(%s::uuid[])",
                (list({c.order.id for c in batch}),),
            )
            got = {(str(oid), seq): eid for oid, seq, eid in await cur.fetchall()}
            log.warning("worker commit: the batch was stored before the connection broke")
            return [got[(c.order.id, c.seq)] for c in batch]
        finally:
            await conn.rollback()

    async def _commit(
        self,
        batch: list[Change],
        pools: list[tuple[str, str, dict[str, Any]]],
        markets: list[tuple[str, Any, bool]],
        now: datetime,
    ) -> list[int]:
        conn = await self._connection()
        events = conn.cursor()
        async with conn.pipeline(), conn.transaction(), conn.cursor() as cur:
            if batch:
                await self._write_changes(cur, events, batch, now)
            if pools:
                await cur.executemany(
                    UPSERT_POOL,
                    [(sym, venue, state["kind"], Jsonb(state), now) for sym, venue, state in pools],
                )
            if markets:
                await cur.executemany(
                    UPDATE_MARKET, [(ref, launched, now, sym) for sym, ref, launched in markets]
                )
        if not batch:
            return []
        got = {(oid, seq): eid for oid, seq, eid in await events.fetchall()}
        return [got[(c.order.id, c.seq)] for c in batch]

    async def _write_changes(
        self,
        cur: psycopg.AsyncCursor[Any],
        events: psycopg.AsyncCursor[Any],
        batch: list[Change],
        now: datetime,
    ) -> None:
        last: dict[str, Change] = {}  # each order's last change of the batch
        routes: dict[str, dict[str, Any]] = {}
        for c in batch:
            last[c.order.id] = c
            if c.route is not None:
                routes[c.order.id] = c.route
        orders = []
        for oid, c in last.items():
            row = dict(zip(ORDER_FIELDS, c.row, strict=True))
            row["id"] = oid
            row["route"] = routes.get(oid)
            row["ts"] = now
            orders.append(row)
        await cur.execute(UPDATE_ORDERS, (_json_rows(orders), len(orders)))
        await events.execute(
            INSERT_EVENTS,
            (
                _json_rows(
                    [
                        {
                            "order_id": c.order.id,
                            "client_id": c.order.client_id,
                            "seq": c.seq,
                            "status": c.status,
                            "ts": now,
                            "payload": c.payload,
                        }
                        for c in batch
                    ]
                ),
            ),
        )
        fills = [
            {
                "order_id": c.order.id,
                "attempt": c.row[5],
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
        if fills:
            await cur.execute(INSERT_FILLS, (_json_rows(fills),))
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
        if attempts:
            await cur.execute(UPSERT_ATTEMPTS, (_json_rows(list(attempts.values())),))

    async def _publish(self, batch: list[Change], event_ids: list[int], now: datetime) -> None:
        t0 = time.perf_counter()
        ts = iso(now)
        try:
            frames: list[bytes] = []
            acks: dict[str, list[str]] = {}
            for change, event_id in zip(batch, event_ids, strict=True):
                message = ws_message(
                    change.order.id,
                    change.status,
                    change.seq,
                    event_id,
                    ts,
                    change.payload,
                )
                frames.append(
                    pubsub_frame(
                        change.order.client_id, change.order.id, change.seq, event_id, message
                    )
                )
                if change.final or change.status in ACK_STATUSES:
                    for stream, entry in change.order.entry_ids:
                        acks.setdefault(stream, []).append(entry)
                    change.order.entry_ids = []
            async with self._redis.pipeline(transaction=False) as pipe:
                for i in range(0, len(frames), PUBLISH_CHUNK):
                    pipe.publish(self._channel, pubsub_batch(frames[i : i + PUBLISH_CHUNK]))
                for stream, entries in acks.items():
                    pipe.xack(stream, self._group, *entries)
                await pipe.execute()
        except Exception as e:  # noqa: BLE001 - events are durable; clients replay them
            log.warning("publish/ack failed after commit (%s); clients will replay", e)
        engine_events_published_total.inc(len(batch))
        for change, event_id in zip(batch, event_ids, strict=True):
            if change.done is not None and not change.done.done():
                change.done.set_result(event_id)
        log.debug("published %d events in %.1f ms", len(batch), (time.perf_counter() - t0) * 1000)
