"""Group commit for one worker: every status change queued by any in-flight order is written
in one transaction per batch (order row + event row + fills + attempt + pool state), then
published on pub/sub, then its stream entries are acknowledged if the order is final.

A change's future resolves only once it is durable, so an order's next step never runs ahead
of its stored state. The batch and the pool snapshot are taken with no await in between, so
the stored pool state is exactly the fills committed with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import redis.asyncio as aioredis
from psycopg.types.json import Jsonb

from engine_core import fsm
from service.events import pubsub_frame, ws_message
from service.metrics import engine_batch_size, engine_events_published_total
from service.worker.live_order import LiveOrder

log = logging.getLogger(__name__)

MAX_BATCH = 512

UPDATE_ORDER = (
    "UPDATE orders SET status = %s, seq = %s, filled = %s, quote_amount = %s, fees = %s,"
    " attempts = %s, tx_hash = %s, failure_reason = %s,"
    " route = COALESCE(%s, route), updated_at = %s WHERE id = %s"
)
INSERT_EVENT = (
    "INSERT INTO order_events (order_id, client_id, seq, status, ts, payload)"
    " VALUES (%s, %s, %s, %s, %s, %s) RETURNING event_id"
)
INSERT_FILL = (
    "INSERT INTO fills (order_id, attempt, venue, amount, quote_amount, fee, tx_hash, ts)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
UPSERT_ATTEMPT = (
    "INSERT INTO attempts (order_id, attempt, tx_hash, status, error, started_at)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (order_id, attempt) DO UPDATE"
    " SET status = EXCLUDED.status, error = EXCLUDED.error, ended_at = EXCLUDED.started_at"
)
UPSERT_POOL = (
    "INSERT INTO pools (symbol, venue, kind, state, updated_at) VALUES (%s, %s, %s, %s, %s)"
    " ON CONFLICT (symbol, venue) DO UPDATE"
    " SET state = EXCLUDED.state, version = pools.version + 1, updated_at = EXCLUDED.updated_at"
)
UPDATE_MARKET = (
    "UPDATE markets SET reference_price = %s, launched = %s, updated_at = %s WHERE symbol = %s"
)
# A resting order's stream entry is done with once `open` is durable: the book is rebuilt
# from PostgreSQL, not from the stream.
ACK_STATUSES = frozenset({"open", "partially_filled"})


@dataclass
class Fill:
    venue: str
    amount: int
    quote_amount: int
    fee: int
    tx_hash: str | None


@dataclass
class Change:
    order: LiveOrder
    status: str
    seq: int
    payload: dict[str, Any]
    route: dict[str, Any] | None = None
    fills: list[Fill] = field(default_factory=list)
    attempt: tuple[int, str, str, str | None] | None = None  # (n, tx_hash, status, error)
    pools: tuple[str, ...] = ()  # (symbol) whose pool state this change moved
    final: bool = False
    # the order row as of this change: status, seq, filled, quote_amount, fees, attempts,
    # tx_hash, failure_reason (the order may move on before the batch commits)
    row: tuple[Any, ...] = ()
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))
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
        on_final: Callable[[Change], None] | None = None,
    ) -> None:
        self._conninfo = conninfo
        self._redis = redis
        self._channel = channel
        self._group = stream_group
        self._pool_states = pool_states
        self._market_row = market_row
        self._touched: dict[str, list[asyncio.Future[None]]] = {}
        self._on_final = on_final
        self._queue: list[Change] = []
        self._wake = asyncio.Event()
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._stopping = False
        self.healthy = True

    # -- COMMANDS --
    def transition(
        self, order: LiveOrder, status: str, *, extra: dict[str, Any] | None = None, **kw: Any
    ) -> asyncio.Future[int]:
        """Move `order` to `status` (refused unless the state table allows it) and queue the
        change; the returned future gives the event id once committed."""
        fsm.check(order.status, status)
        order.status = status
        order.seq += 1
        payload = order.payload()
        if extra:
            payload.update(extra)
        row = (
            status,
            order.seq,
            order.filled,
            order.quote_amount,
            order.fees,
            order.attempts,
            order.tx_hash,
            order.failure_reason,
        )
        change = Change(
            order, status, order.seq, payload, final=fsm.is_terminal(status), row=row, **kw
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
            event_ids = await self._commit_until_done(batch, pools, markets)
            if batch:
                engine_batch_size.observe(len(batch))
                await self._publish(batch, event_ids)
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
            # Prepared statements must not keep a plan made while the tables were empty.
            await self._conn.execute("SET plan_cache_mode = force_custom_plan")
            await self._conn.commit()
        return self._conn

    async def _commit_until_done(
        self,
        batch: list[Change],
        pools: list[tuple[str, str, dict[str, Any]]],
        markets: list[tuple[str, Any, bool]],
    ) -> list[int]:
        delay = 0.05
        while True:
            try:
                ids = await self._commit(batch, pools, markets)
                self.healthy = True
                return ids
            except psycopg.OperationalError as e:
                # PostgreSQL unreachable: nothing of this batch is stored; keep it and retry.
                self.healthy = False
                log.warning("worker commit failed (%s); retrying in %.2fs", e, delay)
                if self._conn is not None:
                    await self._conn.close()
                    self._conn = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _commit(
        self,
        batch: list[Change],
        pools: list[tuple[str, str, dict[str, Any]]],
        markets: list[tuple[str, Any, bool]],
    ) -> list[int]:
        conn = await self._connection()
        now = datetime.now(UTC)
        ids: list[int] = []
        async with conn.transaction(), conn.cursor() as cur:
            if batch:
                ids = await self._write_changes(cur, batch)
            if pools:
                await cur.executemany(
                    UPSERT_POOL,
                    [(sym, venue, state["kind"], Jsonb(state), now) for sym, venue, state in pools],
                )
            if markets:
                await cur.executemany(
                    UPDATE_MARKET, [(ref, launched, now, sym) for sym, ref, launched in markets]
                )
        return ids

    async def _write_changes(self, cur: psycopg.AsyncCursor[Any], batch: list[Change]) -> list[int]:
        await cur.executemany(
            UPDATE_ORDER,
            [
                (*c.row, Jsonb(c.route) if c.route is not None else None, c.ts, c.order.id)
                for c in batch
            ],
        )
        await cur.executemany(
            INSERT_EVENT,
            [
                (c.order.id, c.order.client_id, c.seq, c.status, c.ts, Jsonb(c.payload))
                for c in batch
            ],
            returning=True,
        )
        ids: list[int] = []
        while True:
            row = await cur.fetchone()
            assert row is not None
            ids.append(row[0])
            if not cur.nextset():
                break
        fills = [
            (c.order.id, c.row[5], f.venue, f.amount, f.quote_amount, f.fee, f.tx_hash, c.ts)
            for c in batch
            for f in c.fills
        ]
        if fills:
            await cur.executemany(INSERT_FILL, fills)
        attempts = [(c.order.id, *c.attempt, c.ts) for c in batch if c.attempt]
        if attempts:
            await cur.executemany(UPSERT_ATTEMPT, attempts)
        return ids

    async def _publish(self, batch: list[Change], event_ids: list[int]) -> None:
        t0 = time.perf_counter()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for change, event_id in zip(batch, event_ids, strict=True):
                    message = ws_message(
                        change.order.id,
                        change.status,
                        change.seq,
                        event_id,
                        change.ts,
                        change.payload,
                    )
                    pipe.publish(
                        self._channel,
                        pubsub_frame(change.order.client_id, change.order.id, message),
                    )
                    if change.final or change.status in ACK_STATUSES:
                        for stream, entry in change.order.entry_ids:
                            pipe.xack(stream, self._group, entry)
                        change.order.entry_ids = []
                await pipe.execute()
        except Exception as e:  # noqa: BLE001 - events are durable; clients replay them
            log.warning("publish/ack failed after commit (%s); clients will replay", e)
        engine_events_published_total.inc(len(batch))
        for change, event_id in zip(batch, event_ids, strict=True):
            if change.final and self._on_final:
                self._on_final(change)
            if change.done is not None and not change.done.done():
                change.done.set_result(event_id)
        log.debug("published %d events in %.1f ms", len(batch), (time.perf_counter() - t0) * 1000)
