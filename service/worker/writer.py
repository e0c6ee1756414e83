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
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
import redis.asyncio as aioredis

from engine_core import fsm
from service.domain.cursor import Position
from service.domain.order import LiveOrder
from service.domain.wire import iso, pubsub_batch, pubsub_frame, update_frame, ws_message
from service.metrics import engine_batch_size, engine_events_published_total, engine_fenced_total
from service.store import batch as store
from service.store.fencing import stale_pools, stale_shards
from service.store.redis_client import publish_first_async
from service.worker.changes import (
    Change,
    cut,
    rows,
)

log = logging.getLogger(__name__)

MAX_BATCH = 512

PUBLISH_CHUNK = 256  # events per pub/sub message


# A resting order's stream entry is done with once `open` is durable: the book is rebuilt
# from PostgreSQL, not from the stream.
ACK_STATUSES = fsm.RESTING


class Ownership(Protocol):
    """What the writer asks of the worker about its shards (worker/ownership.py)."""

    def shard(self, symbol: str) -> int: ...

    async def fence(self, shards: set[int]) -> tuple[list[int], list[int]]:
        """(shards, epochs) to check in the transaction: those of `shards` still held (a
        lease not renewed lately is confirmed first; one found lost is dropped)."""
        ...

    def lost(self, shards: Iterable[int]) -> None:
        """PostgreSQL refused these shards' epoch: drop them and their state at once."""
        ...

    def pool_version(self, symbol: str, venue: str) -> int | None: ...

    def pools_stored(self, rows: list[tuple[str, str]]) -> None: ...


def without(changes: list[Change], symbols: set[str]) -> list[Change]:
    """The changes not of these markets. Those of these markets are never stored, so nothing
    may wait for them: their futures are cancelled."""
    kept = []
    for c in changes:
        if c.order.symbol not in symbols:
            kept.append(c)
        elif c.done is not None:
            c.done.cancel()
    return kept


def frame_of(change: Change, position: Position, ts: str) -> bytes:
    """The change's event as its pub/sub frame (order:update), stored at `position` at `ts`
    (as `iso` gives it)."""
    order = change.order
    if change.fields:
        return update_frame(
            order.client_id, order.id, change.status, change.seq, position, ts, change.fields
        )
    message = ws_message(order.id, change.status, change.seq, position.event_id, ts, change.payload)
    return pubsub_frame(order.client_id, order.id, change.seq, position, message)


class Fenced(Exception):
    def __init__(self, shards: list[int]) -> None:
        super().__init__(f"shards {shards}: not ours any more")
        self.shards = shards


class EventWriter:
    def __init__(
        self,
        conninfo: str,
        redis: aioredis.Redis,
        channel: str,
        stream_group: str,
        pool_states: Callable[[str], list[tuple[str, dict[str, Any]]]],
        market_row: Callable[[str], tuple[Any, bool]],
        owner: Ownership,
    ) -> None:
        self._owner = owner
        self._committing: set[str] = set()  # the symbols of the batch being written
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
    ) -> asyncio.Future[Position]:
        """Move `order` to `status` (LiveOrder.apply: refused unless the state table allows
        it) and queue the change; the returned future gives the event id once committed."""
        change = self._change(order, status, extra, kw)
        change.done = asyncio.get_running_loop().create_future()
        return change.done

    def queue(
        self, order: LiveOrder, status: str, *, extra: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        """transition, for a change nothing waits for (a later one of the order is awaited:
        the batches are stored in queue order)."""
        self._change(order, status, extra, kw)

    def _change(
        self, order: LiveOrder, status: str, extra: dict[str, Any] | None, kw: dict[str, Any]
    ) -> Change:
        payload = order.apply(status, extra)
        change = Change(
            order,
            status,
            order.seq,
            payload,
            final=fsm.is_terminal(status),
            row=order.row(),
            fields=order.fields_json,
            extra=extra,
            **kw,
        )
        self._queue.append(change)
        self._wake.set()
        return change

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
            batch = self._queue[: cut(self._queue, self._touched, MAX_BATCH)]
            del self._queue[: len(batch)]
            touched, self._touched = self._touched, {}
            # Snapshot now, with no await since the changes were queued: the stored pools
            # hold exactly the fills of this batch and of those before it (the cut took
            # every queued change that moved a pool of the batch).
            symbols = sorted({s for c in batch for s in c.pools} | set(touched))
            owner = self._owner
            pools = [
                (sym, venue, state, owner.pool_version(sym, venue))
                for sym in symbols
                for venue, state in self._pool_states(sym)
            ]
            markets = [(sym, *self._market_row(sym)) for sym in symbols]
            # One time for the batch: its events' ts, the orders' updated_at, the pools'.
            now = datetime.now(UTC)
            positions: list[Position] = []
            self._committing = {c.order.symbol for c in batch} | set(symbols)
            while True:
                shards = {owner.shard(sym) for sym in self._committing}
                fence = await owner.fence(shards)
                gone = shards - set(fence[0])
                try:
                    if gone:
                        raise Fenced(sorted(gone))
                    positions = await self._commit_until_done(batch, pools, markets, now, fence)
                    break
                except Fenced as e:
                    # Not ours any more: nothing of these shards is written or published.
                    engine_fenced_total.inc()
                    log.error("worker fenced off shards %s: their changes are dropped", e.shards)
                    owner.lost(e.shards)
                    lost = set(e.shards)
                    batch = without(batch, {s for s in self._committing if owner.shard(s) in lost})
                    pools = [p for p in pools if owner.shard(p[0]) not in lost]
                    markets = [m for m in markets if owner.shard(m[0]) not in lost]
                    for sym in [t for t in touched if owner.shard(t) in lost]:
                        for fut in touched.pop(sym):
                            fut.set_exception(e)
                    self._committing = {c.order.symbol for c in batch} | {p[0] for p in pools}
            self._committing = set()
            owner.pools_stored([(p[0], p[1]) for p in pools])
            if batch:
                engine_batch_size.observe(len(batch))
                await self._publish(batch, positions, now)
            for futures in touched.values():
                for fut in futures:
                    if not fut.done():
                        fut.set_result(None)

    def drop(self, symbols: set[str]) -> None:
        """Forget what is queued for these markets (their shard is not ours any more)."""
        self._queue = without(self._queue, symbols)
        for sym in symbols & set(self._touched):
            for fut in self._touched.pop(sym):
                fut.set_exception(Fenced(sorted({self._owner.shard(sym)})))

    async def flushed(self, symbols: set[str]) -> None:
        """Once every change queued so far for these markets is stored (or dropped)."""
        while (
            (symbols & self._committing)
            or any(c.order.symbol in symbols for c in self._queue)
            or (symbols & set(self._touched))
        ):
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    # -- internals --
    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await store.connect(self._conninfo)
        return self._conn

    async def _commit_until_done(
        self,
        batch: list[Change],
        pools: list[tuple[str, str, dict[str, Any], int | None]],
        markets: list[tuple[str, Any, bool]],
        now: datetime,
        fence: tuple[list[int], list[int]],
    ) -> list[Position]:
        delay = 0.05
        failed = False
        while True:
            try:
                if failed and batch:
                    stored = await self._stored_ids(batch)
                    if stored is not None:
                        self.healthy = True
                        return stored
                ids = await self._commit(batch, pools, markets, now, fence)
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
            except psycopg.Error as e:
                shards = stale_shards(e)
                if shards is None:
                    symbols = stale_pools(e)
                    if symbols is None:
                        raise
                    # A pool row moved by someone else: this worker's state of the market
                    # is not PostgreSQL's; drop the shard (taken again, it reloads).
                    shards = sorted({self._owner.shard(sym) for sym in symbols})
                raise Fenced(shards) from e

    async def _stored_ids(self, batch: list[Change]) -> list[Position] | None:
        """After a failed commit: the batch's positions if it was stored all the same."""
        conn = await self._connection()
        first = batch[0]
        got = await store.stored_event_ids(
            conn, (first.order.id, first.seq), list({c.order.id for c in batch})
        )
        if got is None:
            return None
        log.warning("worker commit: the batch was stored before the connection broke")
        return [got[(c.order.id, c.seq)] for c in batch]

    async def _commit(
        self,
        batch: list[Change],
        pools: list[tuple[str, str, dict[str, Any], int | None]],
        markets: list[tuple[str, Any, bool]],
        now: datetime,
        fence: tuple[list[int], list[int]],
    ) -> list[Position]:
        conn = await self._connection()
        got = await store.commit_batch(
            conn,
            pools=pools,
            markets=markets,
            now=now,
            fence=fence,
            **rows(batch, now, self._owner.shard),
        )
        return [got[(c.order.id, c.seq)] for c in batch]

    async def _publish(self, batch: list[Change], positions: list[Position], now: datetime) -> None:
        t0 = time.perf_counter()
        ts = iso(now)
        try:
            frames: list[bytes] = []
            acks: dict[str, list[str]] = {}
            for change, position in zip(batch, positions, strict=True):
                frames.append(frame_of(change, position, ts))
                if change.final or change.status in ACK_STATUSES:
                    for stream, entry in change.order.entry_ids:
                        acks.setdefault(stream, []).append(entry)
                    change.order.entry_ids = []
            async with self._redis.pipeline(transaction=False) as pipe:
                await publish_first_async(
                    self._redis,
                    pipe,
                    self._channel,
                    [
                        pubsub_batch(frames[i : i + PUBLISH_CHUNK])
                        for i in range(0, len(frames), PUBLISH_CHUNK)
                    ],
                )
                for stream, entries in acks.items():
                    pipe.xack(stream, self._group, *entries)
                await pipe.execute()
        except Exception as e:  # noqa: BLE001 - events are durable; clients replay them
            log.warning("publish/ack failed after commit (%s); clients will replay", e)
        engine_events_published_total.inc(len(batch))
        for change, position in zip(batch, positions, strict=True):
            if change.done is not None and not change.done.done():
                change.done.set_result(position)
        log.debug("published %d events in %.1f ms", len(batch), (time.perf_counter() - t0) * 1000)
