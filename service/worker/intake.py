"""Taking work from the shard streams: XREADGROUP (first this consumer's own unacknowledged
entries after a restart, then new ones) and XAUTOCLAIM of a dead consumer's entries. The
sweeper and the stream retention are in `housekeeping`.

An order's entry is acknowledged once the order is durably resting or final (by the writer);
a duplicate entry of such an order is acknowledged here at once. Commands are applied in
stream order and acknowledged after.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import psycopg
import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from engine_core import fsm
from service.config import Settings
from service.domain.markets import Market, shard_of
from service.domain.order import LiveOrder
from service.metrics import (
    observe_many,
    order_queue_latency_seconds,
    order_queue_size,
)
from service.store.redis_client import xreadgroup_one
from service.store.worker import WorkerStore
from service.worker.commands import Commands, PoisonCommand
from service.worker.dead_letter import DeadLetters, order_id
from service.worker.market_state import MarketState
from service.worker.roster import Roster

log = logging.getLogger(__name__)

READ_COUNT = 256


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def entry_id_key(entry_id: str) -> tuple[int, int]:
    ms, _, n = entry_id.partition("-")
    return int(ms), int(n or 0)


Entry = tuple[str, str, dict[bytes, bytes]]  # (stream, entry id, fields)


class Intake:
    """The streams of the shards this process holds: one read loop per shard (XREADGROUP
    names one stream, so a Redis Cluster serves it from the shard's slot), each under a
    consumer name unique to this process and lease (host, pid, epoch)."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        markets: dict[str, Market],
        redis: aioredis.Redis,
        store: WorkerStore,
        roster: Roster,
        state: MarketState,
        commands: Commands,
        dead: DeadLetters,
        on_redis_back: Callable[[], None],
        stop: asyncio.Event,
    ) -> None:
        self._name = name
        self._settings = settings
        self._markets = markets
        self._consumers: dict[int, str] = {}  # shard -> this process's consumer name
        self._shard_of_stream = {settings.stream_key(s): s for s in range(settings.shards)}
        self._loops: dict[int, asyncio.Task[None]] = {}
        self._redis = redis
        self._store = store
        self._roster = roster
        self._state = state
        self._commands = commands
        self._dead = dead
        self.applying: Entry | None = None  # the command entry being applied
        self._on_redis_back = on_redis_back  # Redis came back (maybe empty): re-announce
        self._stop = stop
        self._prefix = f"{socket.gethostname()}-{os.getpid()}"
        self.failed = asyncio.Event()
        self.error: BaseException | None = None

    @property
    def shards(self) -> list[int]:
        return list(self._consumers)

    @property
    def streams(self) -> list[str]:
        return [self._settings.stream_key(s) for s in self._consumers]

    def consumer(self, stream: str) -> str:
        """This process's consumer name on the stream ("" once the shard is given up)."""
        return self._consumers.get(self._shard_of_stream.get(stream, -1), "")

    def symbols(self, shard: int) -> list[str]:
        return [m for m in self._markets if shard_of(m, self._settings.shards) == shard]

    # -- shards taken and given up --
    async def add(self, shard: int, epoch: int) -> asyncio.Task[None]:
        """Start reading the shard's stream: first the entries an earlier owner left
        unacknowledged, then new ones. A dead or paused owner read nothing for at least 3/4
        of the lease (it renews every quarter, and the lease expired before we took it), so
        entries idle half a lease are all of its; any younger one (a consumer reading late)
        is claimed after CLAIM_IDLE_MS."""
        stream = self._settings.stream_key(shard)
        await self.ensure_groups([stream])
        self._consumers[shard] = f"{self._prefix}-e{epoch}"
        await self._claim(shard, stream, self._settings.lease_ttl_ms // 2)
        task = asyncio.create_task(self.read_loop(shard))
        task.add_done_callback(self._ended)
        self._loops[shard] = task
        return task

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.error = task.exception()
            self.failed.set()  # the worker fails loudly; its supervisor restarts it

    def remove(self, shard: int) -> None:
        """Stop reading the shard: entries read and not admitted stay pending under our
        name, for the next owner's claim."""
        self._consumers.pop(shard, None)
        task = self._loops.pop(shard, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def reading(self, stream: str) -> bool:
        return stream in self.streams

    async def ensure_groups(self, streams: list[str] | None = None) -> None:
        """Create the consumer group (and the stream) where missing: at start, and when Redis
        came back empty. From id 0: entries the API appended meanwhile are read too."""
        for stream in self.streams if streams is None else streams:
            try:
                await self._redis.xgroup_create(stream, self._settings.group, id="0", mkstream=True)
            except ResponseError as e:
                if "BUSYGROUP" not in str(e):
                    raise

    # -- reading --
    async def read_loop(self, shard: int) -> None:
        s = self._settings
        roster = self._roster
        stream = s.stream_key(shard)
        # First our own unacknowledged entries (from id 0, a reconnect's leftovers), then new.
        backlog: str | None = "0"
        delay = 0.1
        redis_lost = False
        while not self._stop.is_set() and shard in self._consumers:
            if len(roster.inflight) >= 2 * s.queue_concurrency + READ_COUNT:
                roster.room.clear()
                await roster.room.wait()
                continue
            try:
                reply: Any = await xreadgroup_one(
                    self._redis,
                    s.group,
                    self._consumers[shard],
                    stream,
                    backlog or ">",
                    READ_COUNT,
                    None if backlog is not None else 1000,
                )
                entries = [
                    (stream, eid.decode(), f) for _, items in reply or [] for eid, f in items
                ]
                if backlog is not None:
                    if not entries:
                        backlog = None
                        continue
                    backlog = entries[-1][1]
                # an entry trimmed or deleted meanwhile comes back with no fields
                entries = [e for e in entries if e[2]]
                if redis_lost:
                    redis_lost = False
                    self._on_redis_back()
                if entries:
                    counts: dict[str, int] = {}
                    if backlog is not None:  # re-read after a restart or a failure
                        counts = await self.delivery_counts(stream, [e[1] for e in entries])
                    await self.admit(entries, counts)
                delay = 0.1
            except ResponseError as e:
                if "NOGROUP" not in str(e):
                    raise
                # Redis restarted empty: the group again (the sweeper re-appends the
                # pending orders it lost; orders in flight carry on in memory).
                log.warning("%s: stream group missing; creating it again", self._name)
                backlog = "0"
                redis_lost = True
                try:
                    await self.ensure_groups([stream])
                except RedisError as e2:
                    log.warning("%s: group not created (%s); retrying", self._name, e2)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
            except (OSError, psycopg.OperationalError, RedisError) as e:
                # Redis or PostgreSQL unreachable. Entries read but not admitted are ours in
                # the group's pending list: read them again from there once it is back.
                log.warning("%s read failed (%s); retrying", self._name, e)
                backlog = "0"
                redis_lost = redis_lost or not isinstance(e, psycopg.Error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def admit(self, entries: list[Entry], deliveries: dict[str, int] | None = None) -> None:
        """Take these entries: orders start executing, commands are applied (in stream
        order), duplicates are acknowledged, poison entries dead-lettered. `deliveries`:
        each entry's delivery count where more than one (a re-read or a claim)."""
        s = self._settings
        roster = self._roster
        ack: list[tuple[str, str]] = []
        poison: list[tuple[Entry, str, str, str | None]] = []  # entry, error, kind, order id
        commands: list[Entry] = []
        orders: list[tuple[Entry, str]] = []
        for entry in entries:
            fields = entry[2]
            oid = order_id(fields)
            n = (deliveries or {}).get(entry[1], 1)
            held = oid is not None and roster.taken_status(oid) is not None
            # (an order held here, e.g. waiting for its launch, is claimed back by this
            # process again and again: those deliveries are not failures)
            if n > s.max_deliveries and not held:
                poison.append((entry, f"delivered {n} times", "deliveries", oid))
            elif b"cmd" in fields:
                commands.append(entry)
            elif oid is None:
                poison.append((entry, "malformed entry: no order id", "malformed", None))
            else:
                orders.append((entry, oid))
        ids = list({oid for _, oid in orders} | {p[3] for p in poison if p[3] is not None})
        rows = await self._store.orders(ids) if ids else {}
        now = time.time()
        loaded: list[LiveOrder] = []
        for entry, oid in orders:
            stream, entry_id, _ = entry
            if not self.reading(stream):
                continue  # the shard was given up meanwhile: left to its next owner
            live = roster.inflight.get(oid)
            if live is not None:
                if (stream, entry_id) not in live.entry_ids:
                    live.entry_ids.append((stream, entry_id))
                continue
            taken = roster.taken_status(oid)
            if taken is not None:
                # This process holds the order: its status here is the truth (the row
                # fetched may predate changes made or queued meanwhile).
                if fsm.is_terminal(taken) or oid in self._state.by_id:
                    ack.append((stream, entry_id))
                # else between two steps here (a launch, a crashed execution): left
                # unacknowledged, XAUTOCLAIM brings it back later
                continue
            row = rows.get(oid)
            if row is None:
                poison.append((entry, f"no such order {oid}", "unknown_order", None))
                continue
            if fsm.is_terminal(row.status) or row.symbol not in self._state.books:
                # final, or not a market of ours: nothing to execute
                ack.append((stream, entry_id))
                continue
            try:
                order = LiveOrder.from_row(row, self._markets[row.symbol])
            except Exception as e:  # noqa: BLE001 - a row this worker cannot take
                poison.append((entry, f"order not loadable: {e}", "unloadable", oid))
                continue
            order.entry_ids.append((stream, entry_id))
            loaded.append(order)
        # one write per bucket for the read, not two per order
        observe_many(
            order_queue_latency_seconds,
            [max(0.0, now - order.created_at.timestamp()) for order in loaded],
        )
        roster.spawn_many(loaded)
        for entry in commands:
            if not self.reading(entry[0]):
                continue
            self.applying = entry  # buried by the fatal path if the worker dies meanwhile
            try:
                await self._commands.apply(entry[2])
            except PoisonCommand as e:
                poison.append((entry, str(e), "command", None))
                continue
            finally:
                self.applying = None
            ack.append((entry[0], entry[1]))
        order_queue_size.set(len(roster.inflight))
        if ack:
            async with self._redis.pipeline(transaction=False) as pipe:
                for stream, entry_id in ack:
                    pipe.xack(stream, s.group, entry_id)
                await pipe.execute()
        for entry, error, kind, oid in poison:
            await self._bury(entry, error, kind, rows.get(oid) if oid else None, deliveries)

    async def _bury(
        self,
        entry: Entry,
        error: str,
        kind: str,
        row: Any,
        deliveries: dict[str, int] | None,
    ) -> None:
        """Dead-letter one entry, ending the order it names first when no execution here
        holds it (else that execution ends it, and acknowledges its other entries)."""
        stream, entry_id, fields = entry
        oid = None if row is None else str(row.id)
        if (
            oid is not None
            and self._roster.taken_status(oid) is None
            and (oid not in self._state.by_id)
        ):
            await self._dead.end_order(row, error)
        n = (deliveries or {}).get(entry_id, 1)
        await self._dead.bury(stream, entry_id, fields, error, n, kind, answer=kind != "command")

    async def delivery_counts(self, stream: str, ids: list[str]) -> dict[str, int]:
        """How often each of these entries (pending for this consumer) was delivered, where
        more than once: XPENDING's count over their id range."""
        if not ids:
            return {}
        got: Any = await self._redis.xpending_range(
            stream,
            self._settings.group,
            min=min(ids, key=entry_id_key),
            max=max(ids, key=entry_id_key),
            count=len(ids) + 4 * READ_COUNT,
            consumername=self.consumer(stream),
        )
        wanted = set(ids)
        counts: dict[str, int] = {}
        for p in got:
            eid = p["message_id"]
            eid = eid.decode() if isinstance(eid, bytes) else eid
            if eid in wanted and p["times_delivered"] > 1:
                counts[eid] = int(p["times_delivered"])
        return counts

    async def claim_once(self) -> int:
        """Adopt entries that another consumer (a dead worker) left idle too long."""
        claimed = 0
        for shard in list(self._consumers):
            claimed += await self._claim(shard, self._settings.stream_key(shard))
        return claimed

    async def _claim(self, shard: int, stream: str, idle_ms: int | None = None) -> int:
        claimed = 0
        cursor = "0-0"
        while shard in self._consumers:
            try:
                cursor, items, *_ = await self._redis.xautoclaim(
                    stream,
                    self._settings.group,
                    self._consumers[shard],
                    self._settings.claim_idle_ms if idle_ms is None else idle_ms,
                    cursor,
                    count=READ_COUNT,
                )
            except ResponseError as e:
                if "NOGROUP" not in str(e):
                    raise
                await self.ensure_groups([stream])  # Redis came back empty
                break
            entries = [(stream, eid.decode(), f) for eid, f in items if f]
            if entries:
                claimed += len(entries)
                counts = await self.delivery_counts(stream, [e[1] for e in entries])
                await self.admit(entries, counts)
            if cursor in (b"0-0", "0-0"):
                break
        return claimed
