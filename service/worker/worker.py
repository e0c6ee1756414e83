"""One worker process: the single owner of its shards' streams and markets.

It reads new entries with XREADGROUP, first re-reads its own unacknowledged ones after a
restart, adopts a dead consumer's entries with XAUTOCLAIM, and re-appends `pending` orders
that never reached a stream (the sweeper). An order's entry is acknowledged once the order
is durably resting or final; a duplicate entry of such an order is acknowledged at once.
Commands for a market (cancel, /sim/price, /sim/launch) come through the same stream, so
everything that changes a market happens here, in order, with no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from decimal import Decimal
from typing import Any, cast

import orjson
import psycopg
import redis.asyncio as aioredis
from psycopg.types.json import set_json_loads
from redis.exceptions import RedisError, ResponseError

from engine_core import fsm
from engine_core.pools import make_pool
from service.config import Settings
from service.domain.markets import Market, load_markets, shard_of
from service.domain.order import LiveOrder
from service.domain.units import to_base_units
from service.domain.wire import pubsub_frame, ws_message
from service.metrics import order_queue_latency_seconds, order_queue_size
from service.simulator.chain import MockChain
from service.simulator.market import Simulator
from service.store.pools import ensure_pools, load_markets_state, load_pools
from service.worker.attempt_pacer import RateLimiter
from service.worker.executor import Executor
from service.worker.market_state import MarketState
from service.worker.writer import EventWriter

log = logging.getLogger(__name__)

READ_COUNT = 256
SWEEP_EVERY_S = 2.0
CLAIM_EVERY_S = 5.0
EXPIRE_EVERY_S = 0.25
REPLY_TTL_S = 60
LIVE = ("open", "partially_filled", "routing", "building", "submitted", "confirmed")
RESTING = ("open", "partially_filled")
FINISHED_KEPT = 100_000  # orders this process ended, kept to answer duplicate entries
STOP_TASKS_S = 45.0  # at SIGTERM: how long orders in flight may take to finish
STOP_WRITER_S = 10.0  # then how long the writer may take to store what they queued
# Published again at start and after a Redis outage: the last event of each order of ours
# among the latest events (at most this many back, and this recent).
REANNOUNCE_EVENTS = 20_000
REANNOUNCE_S = 60
REANNOUNCE_AFTER_OUTAGE_S = (2.0, 8.0)  # relays re-subscribe within these, with backoff


def owned_shards(settings: Settings, index: int, count: int) -> list[int]:
    return [s for s in range(settings.shards) if s % count == index]


class Worker:
    def __init__(self, settings: Settings, index: int, count: int) -> None:
        self.settings = settings
        self.index = index
        self.consumer = f"worker-{index}"
        self.markets: dict[str, Market] = load_markets(settings.markets_file)
        self.shards = owned_shards(settings, index, count)
        self.symbols = [s for s in self.markets if shard_of(s, settings.shards) in self.shards]
        self.streams = [settings.stream_key(s) for s in self.shards]
        self.inflight: dict[str, LiveOrder] = {}  # executing (or waiting for a slot)
        # Every order this process has taken, as it holds it: its status is the last one
        # queued, ahead of what PostgreSQL may say. Final ones move to `_finished`.
        self._known: dict[str, LiveOrder] = {}
        self._finished: OrderedDict[str, str] = OrderedDict()  # id -> final status
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._room = asyncio.Event()
        self._sem = asyncio.Semaphore(settings.queue_concurrency)
        self._redis: aioredis.Redis | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None

    # -- lifecycle --
    async def run(self) -> None:
        s = self.settings
        pools, refs, live = await asyncio.to_thread(self._load)
        self.state = MarketState(self.markets, pools, refs)
        self._redis = aioredis.Redis.from_url(s.redis_url)
        await self._ensure_groups()
        self.writer = EventWriter(
            s.database_url,
            self._redis,
            s.events_channel,
            s.group,
            self.state.states,
            lambda sym: (self.state.reference[sym], self.state.launched(sym)),
        )
        limiter = RateLimiter(
            self._redis,
            s.key("ratelimit", "queue"),
            s.queue_rate_limit_max,
            s.queue_rate_limit_duration_ms,
            self.consumer,
        )
        chain = MockChain(s, s.sim_seed * 1000 + self.index)
        self.executor = Executor(s, self.writer, chain, limiter, self.state, self._spawn)
        self.sim = Simulator(s, self.state)
        log.info("worker %d owns shards %s: %s", self.index, self.shards, ", ".join(self.symbols))
        writer_task = asyncio.create_task(self.writer.run())
        self._recover(live)
        # After a stop that was not clean (killed, crashed, Redis emptied) some committed
        # events may never have been published.
        clean_key = s.key("worker", str(self.index), "stopped-clean")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(clean_key)
            pipe.delete(clean_key)
            was_clean, _ = await pipe.execute()
        if not was_clean:
            self._background(self._reannounce())
        loops = [
            asyncio.create_task(self._read_loop()),
            asyncio.create_task(self._periodic(self._sweep_once, SWEEP_EVERY_S)),
            asyncio.create_task(self._periodic(self._claim_once, CLAIM_EVERY_S)),
            asyncio.create_task(self._periodic(self._expire_once, EXPIRE_EVERY_S)),
        ]
        if s.sim_enabled and s.sim_tick_ms > 0:
            loops.append(asyncio.create_task(self._periodic(self._tick_once, s.sim_tick_ms / 1000)))
        stop_task = asyncio.create_task(self._stop.wait())
        await asyncio.wait([stop_task, writer_task, *loops], return_when=asyncio.FIRST_COMPLETED)
        if not self._stop.is_set():
            # A loop or the writer died: fail loudly, the supervisor restarts this worker and
            # nothing unacknowledged is lost.
            for t in (writer_task, *loops):
                if t.done() and t.exception():
                    raise RuntimeError(f"worker {self.index} failed") from t.exception()
        stop_task.cancel()
        # Stop taking orders; those in flight finish, those not started yet are handed back
        # (their stream entries stay unacknowledged, for this worker's next start or
        # another consumer's XAUTOCLAIM).
        for t in loops:
            t.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        late: set[asyncio.Task[None]] = set()
        if self._tasks:
            log.info("worker %d finishing %d orders in flight", self.index, len(self._tasks))
            _, late = await asyncio.wait(self._tasks, timeout=STOP_TASKS_S)
            if late:
                # Left as PostgreSQL has them (each step is one commit): the next start
                # recovers them.
                log.warning("worker %d: %d orders still in flight at exit", self.index, len(late))
        self.writer.stop()
        try:
            await asyncio.wait_for(writer_task, STOP_WRITER_S)
            if not late and self.writer.healthy:
                with contextlib.suppress(RedisError, OSError):
                    await self._redis.set(clean_key, "1", ex=86_400)
        except TimeoutError:
            log.error("worker %d: PostgreSQL unreachable, unstored changes dropped", self.index)
        await self._redis.aclose()
        if self._conn is not None:
            await self._conn.close()

    def stop(self) -> None:
        self._stop.set()

    def _background(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reannounce(self, delays: tuple[float, ...] = (0.0,)) -> None:
        """Publish again the last event of each order of ours among the latest ones. A
        worker killed between a commit and its PUBLISH, or a PUBLISH lost while Redis was
        down, leaves events a relay never got; for a final event nothing later shows the
        gap. Relays drop what a connection already has (per-order seq): repeats are harmless.
        """
        for delay in delays:
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
                return  # stopping
            except TimeoutError:
                pass
            try:
                rows = await self._query(
                    "SELECT DISTINCT ON (e.order_id) e.order_id, e.client_id, e.seq, e.status,"
                    " e.ts, e.payload, e.event_id FROM order_events e"
                    " JOIN orders o ON o.id = e.order_id"
                    " WHERE e.event_id > (SELECT coalesce(max(event_id), 0) FROM order_events) - %s"
                    " AND e.ts > now() - make_interval(secs => %s) AND o.symbol = ANY(%s)"
                    " ORDER BY e.order_id, e.seq DESC",
                    (REANNOUNCE_EVENTS, REANNOUNCE_S, self.symbols),
                )
                assert self._redis is not None
                channel = self.settings.events_channel
                for i in range(0, len(rows), 1000):
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for oid, client, seq, status, ts, payload, event_id in rows[i : i + 1000]:
                            message = ws_message(str(oid), status, seq, event_id, ts, payload)
                            frame = pubsub_frame(client, str(oid), seq, event_id, message)
                            pipe.publish(channel, frame)
                        await pipe.execute()
                if rows:
                    log.info("worker %d re-published %d last events", self.index, len(rows))
            except (OSError, psycopg.Error, RedisError) as e:
                log.warning("worker %d: re-publishing last events failed (%s)", self.index, e)

    def _load(self) -> tuple[Any, Any, list[tuple[Any, ...]]]:
        with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
            ensure_pools(conn, self.markets)
            live = conn.execute(
                f"SELECT {LiveOrder.COLUMNS} FROM orders"  # noqa: S608 - constant columns
                " WHERE symbol = ANY(%s) AND status = ANY(%s) ORDER BY created_at, id",
                (self.symbols, list(LIVE)),
            ).fetchall()
            return (load_pools(conn, self.symbols), load_markets_state(conn, self.symbols), live)

    def _recover(self, rows: list[tuple[Any, ...]]) -> None:
        """After a start: resting orders back into their books (in time priority), orders
        caught mid-execution carried on."""
        for row in rows:
            order = LiveOrder.from_row(row, self.markets[row[2]])
            if order.status in RESTING:
                self._known[order.id] = order
                self.state.rest(order)
            else:
                self._spawn(order)
        if rows:
            log.info("worker %d recovered %d live orders", self.index, len(rows))
        for symbol in self.symbols:
            self.executor.trigger(symbol)

    async def _ensure_groups(self, streams: list[str] | None = None) -> None:
        """Create the consumer group (and the stream) where missing: at start, and when Redis
        came back empty. From id 0: entries the API appended meanwhile are read too."""
        assert self._redis is not None
        for stream in streams or self.streams:
            try:
                await self._redis.xgroup_create(stream, self.settings.group, id="0", mkstream=True)
            except ResponseError as e:
                if "BUSYGROUP" not in str(e):
                    raise

    # -- reading --
    async def _read_loop(self) -> None:
        assert self._redis is not None
        # First our own unacknowledged entries (from id 0, a restart's leftovers), then new ones.
        backlog: dict[str, str] | None = {s: "0" for s in self.streams}
        delay = 0.1
        redis_lost = False
        while not self._stop.is_set():
            if len(self.inflight) >= 2 * self.settings.queue_concurrency + READ_COUNT:
                self._room.clear()
                await self._room.wait()
                continue
            try:
                reply: Any = await self._redis.xreadgroup(
                    self.settings.group,
                    self.consumer,
                    cast(Any, backlog or {s: ">" for s in self.streams}),
                    count=READ_COUNT,
                    block=None if backlog is not None else 1000,
                )
                entries = [
                    (st.decode(), eid.decode(), f) for st, items in reply or [] for eid, f in items
                ]
                if backlog is not None:
                    if not entries:
                        backlog = None
                        continue
                    for stream, entry_id, _ in entries:
                        backlog[stream] = entry_id
                # an entry trimmed or deleted meanwhile comes back with no fields
                entries = [e for e in entries if e[2]]
                if redis_lost:
                    redis_lost = False
                    self._background(self._reannounce(REANNOUNCE_AFTER_OUTAGE_S))
                if entries:
                    await self._admit(entries)
                delay = 0.1
            except ResponseError as e:
                if "NOGROUP" not in str(e):
                    raise
                # Redis restarted empty: the groups again (the sweeper re-appends the
                # pending orders it lost; orders in flight carry on in memory).
                log.warning("worker %d: stream group missing; creating it again", self.index)
                backlog = {s: "0" for s in self.streams}
                redis_lost = True
                try:
                    await self._ensure_groups()
                except RedisError as e2:
                    log.warning("worker %d: group not created (%s); retrying", self.index, e2)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
            except (OSError, psycopg.OperationalError, RedisError) as e:
                # Redis or PostgreSQL unreachable. Entries read but not admitted are ours in
                # the group's pending list: read them again from there once it is back.
                log.warning("worker %d read failed (%s); retrying", self.index, e)
                backlog = {s: "0" for s in self.streams}
                redis_lost = redis_lost or not isinstance(e, psycopg.Error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _admit(self, entries: list[tuple[str, str, dict[bytes, bytes]]]) -> None:
        commands = [e for e in entries if b"cmd" in e[2]]
        entries = [e for e in entries if b"cmd" not in e[2]]
        ack: list[tuple[str, str]] = []
        if entries:
            ids = list({f[b"id"].decode() for _, _, f in entries})
            rows = await self._fetch(ids)
            now = time.time()
            for stream, entry_id, fields in entries:
                oid = fields[b"id"].decode()
                live = self.inflight.get(oid)
                if live is not None:
                    if (stream, entry_id) not in live.entry_ids:
                        live.entry_ids.append((stream, entry_id))
                    continue
                taken = self._taken_status(oid)
                if taken is not None:
                    # This process holds the order: its status here is the truth (the row
                    # fetched may predate changes made or queued meanwhile).
                    if fsm.is_terminal(taken) or oid in self.state.by_id:
                        ack.append((stream, entry_id))
                    # else between two steps here (a launch, a crashed execution): left
                    # unacknowledged, XAUTOCLAIM brings it back later
                    continue
                row = rows.get(oid)
                if (
                    row is None
                    or row[9] != "pending"
                    and (fsm.is_terminal(row[9]) or row[2] not in self.state.books)
                ):
                    # unknown, final, or not a market of ours: nothing to execute
                    ack.append((stream, entry_id))
                    continue
                order = LiveOrder.from_row(row, self.markets[row[2]])
                order.entry_ids.append((stream, entry_id))
                order_queue_latency_seconds.observe(max(0.0, now - order.created_at.timestamp()))
                self._spawn(order)
        for stream, entry_id, fields in commands:
            await self._command(fields)
            ack.append((stream, entry_id))
        order_queue_size.set(len(self.inflight))
        if ack:
            assert self._redis is not None
            async with self._redis.pipeline(transaction=False) as pipe:
                for stream, entry_id in ack:
                    pipe.xack(stream, self.settings.group, entry_id)
                await pipe.execute()

    def _taken_status(self, oid: str) -> str | None:
        """The status of an order this process has taken (None: never taken here)."""
        order = self._known.get(oid)
        if order is not None:
            return order.status
        return self._finished.get(oid)

    def _forget_finished(self) -> None:
        """Final orders leave `_known` for the bounded `_finished` list of ids."""
        for oid in [oid for oid, o in self._known.items() if fsm.is_terminal(o.status)]:
            self._finished[oid] = self._known.pop(oid).status
        while len(self._finished) > FINISHED_KEPT:
            self._finished.popitem(last=False)

    async def _query(self, query: str, params: Any) -> list[tuple[Any, ...]]:
        """One autocommit query on this worker's connection, opened again after a failure."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self.settings.database_url, autocommit=True
            )
            set_json_loads(orjson.loads, self._conn)  # the re-announced events' payloads
        try:
            cur = await self._conn.execute(query, params)
            return await cur.fetchall()
        except psycopg.OperationalError:
            conn, self._conn = self._conn, None
            await conn.close()
            raise

    async def _fetch(self, ids: list[str]) -> dict[str, tuple[Any, ...]]:
        rows = await self._query(
            f"SELECT {LiveOrder.COLUMNS} FROM orders WHERE id = ANY(%s::uuid[])",  # noqa: S608
            (ids,),
        )
        return {str(r[0]): r for r in rows}

    def _spawn(self, order: LiveOrder) -> None:
        self._known[order.id] = order
        self._finished.pop(order.id, None)
        self.inflight[order.id] = order
        task = asyncio.create_task(self._execute(order))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, order: LiveOrder) -> None:
        try:
            async with self._sem:
                if self._stop.is_set() and order.status in ("pending", *RESTING):
                    # Stopping: not started, handed back. A pending order's entry stays
                    # unacknowledged; a resting one is in the book again at the next start.
                    return
                await self.executor.run(order)
        except Exception:
            # Left unacknowledged: XAUTOCLAIM reads it again from what PostgreSQL holds (or
            # a restart recovers it).
            log.exception("order %s: execution crashed", order.id, extra={"order_id": order.id})
            self._known.pop(order.id, None)
        finally:
            self.inflight.pop(order.id, None)
            order_queue_size.set(len(self.inflight))
            self._room.set()

    # -- commands --
    async def _command(self, fields: dict[bytes, bytes]) -> None:
        """Apply a market command in stream order; a cancel of an order in mid-execution
        answers when that execution ends, without holding up the stream."""
        cmd = fields[b"cmd"].decode()
        args = orjson.loads(fields.get(b"args", b"{}"))
        reply = fields.get(b"reply")
        try:
            if cmd == "cancel":
                result = await self._cancel(args["id"])
            elif cmd == "sim_price":
                result = await self._sim_price(args["symbol"], Decimal(args["price"]))
            elif cmd == "sim_launch":
                result = await self._sim_launch(args)
            else:
                result = {"status": 400, "code": "unknown_command"}
        except Exception as e:
            log.exception("command %s failed", cmd)
            result = {"status": 500, "code": "internal_error", "message": str(e)}
        if isinstance(result, dict):
            await self._reply(reply, result)
        else:
            task = asyncio.create_task(self._reply_later(reply, result))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _reply_later(self, reply: bytes | None, pending: Any) -> None:
        await self._reply(reply, await pending)

    async def _reply(self, reply: bytes | None, result: dict[str, Any]) -> None:
        if reply and self._redis is not None:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.lpush(reply, orjson.dumps(result))
                pipe.expire(reply, REPLY_TTL_S)
                await pipe.execute()

    async def _cancel(self, order_id: str) -> Any:
        order = self.inflight.get(order_id)
        if order is not None:
            if order.type == "market":
                return {
                    "status": 409,
                    "code": "order_not_cancelable",
                    "message": "a market order cannot be canceled once taken",
                }
            order.cancel_requested = True  # ends `canceled` after its attempt, fills kept
            return self._when_done(order)
        resting = self.state.by_id.get(order_id)
        if resting is not None:
            await self.executor.cancel_resting(resting)
            return self._cancel_result(resting)
        rows = await self._fetch([order_id])
        if order_id in self.inflight or order_id in self.state.by_id:
            return await self._cancel(order_id)  # taken meanwhile: as above
        taken = self._taken_status(order_id)
        if taken is not None:
            return {
                "status": 409,
                "code": "order_not_cancelable",
                "message": f"the order is {taken}",
            }
        row = rows.get(order_id)
        if row is None:
            return {"status": 404, "code": "not_found"}
        if row[9] == "pending" and row[2] in self.state.books:
            pending = LiveOrder.from_row(row, self.markets[row[2]])
            pending.cancel_requested = True
            self._spawn(pending)
            return self._when_done(pending)
        return {"status": 409, "code": "order_not_cancelable", "message": f"the order is {row[9]}"}

    async def _when_done(self, order: LiveOrder) -> dict[str, Any]:
        while order.id in self.inflight:
            await asyncio.sleep(0.01)
        return self._cancel_result(order)

    @staticmethod
    def _cancel_result(order: LiveOrder) -> dict[str, Any]:
        if order.status == "canceled":
            return {"status": 200}
        return {
            "status": 409,
            "code": "order_not_cancelable",
            "message": f"the order is {order.status}",
        }

    async def _sim_price(self, symbol: str, price: Decimal) -> dict[str, Any]:
        if not self.state.launched(symbol):
            return {"status": 409, "code": "pool_not_open", "field": "symbol"}
        self.sim.set_price(symbol, price)
        await self.writer.touch(symbol)
        self.executor.trigger(symbol)
        return {"status": 200}

    async def _sim_launch(self, args: dict[str, Any]) -> dict[str, Any]:
        symbol, venue = args["symbol"], args["venue"]
        market = self.markets[symbol]
        if venue in self.state.pools(symbol):
            return {
                "status": 409,
                "code": "already_launched",
                "field": "venue",
                "message": f"{venue} already has a {symbol} pool",
            }
        pool = make_pool(
            "cpmm",
            {
                "base_reserve": to_base_units(
                    args["baseReserve"], market.base.decimals, "baseReserve"
                ),
                "quote_reserve": to_base_units(
                    args["quoteReserve"], market.quote.decimals, "quoteReserve"
                ),
                "fee_bps": int(args.get("feeBps", 25)),
            },
        )
        self.state.open_pool(symbol, venue, pool)
        ask, _ = self.state.quotes(symbol)
        if ask is not None:
            self.state.reference[symbol] = Decimal(ask).scaleb(-market.quote.decimals)
        await self.writer.touch(symbol)
        log.info("launched %s on %s", symbol, venue)
        await self.executor.launch(symbol)
        return {"status": 200}

    # -- housekeeping --
    async def _periodic(self, step: Any, every_s: float) -> None:
        while not self._stop.is_set():
            try:
                await step()
            except Exception as e:  # noqa: BLE001 - a dependency down: try again next round
                log.warning("worker %d %s failed: %s", self.index, step.__name__, e)
            await asyncio.sleep(every_s)

    async def _tick_once(self) -> None:
        moved = [s for s in self.symbols if self.sim.tick(s)]
        for symbol in moved:
            self.writer.touch(symbol)
            self.executor.trigger(symbol)

    async def _expire_once(self) -> None:
        """GTD orders past their expiresAt leave the book `expired`."""
        for order in self.state.expired(time.time()):
            await self.executor.expire(order)

    async def _sweep_once(self) -> int:
        """Re-append `pending` orders that no stream entry carries (a crash between the
        API's commit and its XADD, or Redis restarted empty). Shards with unread entries
        are left alone: their orders are still on the way."""
        assert self._redis is not None
        self._forget_finished()
        quiet: list[str] = []
        group = self.settings.group
        for shard, stream in zip(self.shards, self.streams, strict=True):
            try:
                groups = await self._redis.xinfo_groups(stream)
            except ResponseError as e:
                if "no such key" not in str(e):
                    raise
                await self._ensure_groups([stream])  # Redis came back empty
                groups = []
            lag = next((g.get("lag") for g in groups if g["name"] in (group.encode(), group)), 0)
            if not lag:
                quiet.extend(s for s in self.symbols if shard_of(s, self.settings.shards) == shard)
        if not quiet:
            return 0
        found = await self._query(
            "SELECT id, symbol FROM orders WHERE status = 'pending' AND symbol = ANY(%s)"
            " AND created_at < now() - make_interval(secs => %s)"
            " ORDER BY created_at LIMIT 1000",
            (quiet, self.settings.sweep_after_ms / 1000),
        )
        rows = [(str(i), sym) for i, sym in found if str(i) not in self.inflight]
        if rows:
            async with self._redis.pipeline(transaction=False) as pipe:
                for oid, sym in rows:
                    stream = self.settings.stream_key(shard_of(sym, self.settings.shards))
                    pipe.xadd(stream, {"id": oid, "symbol": sym})
                await pipe.execute()
            log.warning("worker %d re-queued %d pending orders", self.index, len(rows))
        return len(rows)

    async def _claim_once(self) -> int:
        """Adopt entries that another consumer (a dead worker) left idle too long."""
        assert self._redis is not None
        claimed = 0
        for stream in self.streams:
            cursor = "0-0"
            while True:
                try:
                    cursor, items, *_ = await self._redis.xautoclaim(
                        stream,
                        self.settings.group,
                        self.consumer,
                        self.settings.claim_idle_ms,
                        cursor,
                        count=READ_COUNT,
                    )
                except ResponseError as e:
                    if "NOGROUP" not in str(e):
                        raise
                    await self._ensure_groups([stream])  # Redis came back empty
                    break
                entries = [(stream, eid.decode(), f) for eid, f in items if f]
                if entries:
                    claimed += len(entries)
                    await self._admit(entries)
                if cursor in (b"0-0", "0-0"):
                    break
        return claimed
