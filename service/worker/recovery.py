"""What a worker does after a start (or a Redis outage) so that nothing it owns is lost:
resting orders back into their books in time priority, orders caught mid-execution carried
on (those caught `submitted` once the chain says their transaction can no longer land:
service/worker/in_doubt.py), and the last event of each recent order published again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import psycopg
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from engine_core import fsm
from service.domain.cursor import Position
from service.domain.markets import Market
from service.domain.order import LiveOrder
from service.domain.wire import pubsub_batch, pubsub_frame, ws_message
from service.store.worker import WorkerStore
from service.worker.executor import Executor
from service.worker.in_doubt import InDoubt
from service.worker.market_state import MarketState
from service.worker.roster import Roster
from service.worker.writer import EventWriter

log = logging.getLogger(__name__)

# Published again at start and after a Redis outage: the last event of each order of ours
# among the latest events (at most this many back, and this recent).
REANNOUNCE_EVENTS = 20_000
REANNOUNCE_S = 60
REANNOUNCE_AFTER_OUTAGE_S = (2.0, 8.0)  # relays re-subscribe within these, with backoff
PUBLISH_CHUNK = 1000


class Recovery:
    def __init__(
        self,
        name: str,
        markets: dict[str, Market],
        symbols: Callable[[], list[str]],
        channel: str,
        redis: aioredis.Redis,
        store: WorkerStore,
        roster: Roster,
        state: MarketState,
        executor: Executor,
        writer: EventWriter,
        in_doubt: InDoubt,
        stop: asyncio.Event,
    ) -> None:
        self._name = name
        self._markets = markets
        self._symbols = symbols
        self._channel = channel
        self._redis = redis
        self._store = store
        self._roster = roster
        self._state = state
        self._executor = executor
        self._writer = writer
        self._in_doubt = in_doubt
        self._stop = stop

    def recover(self, rows: list[Any], symbols: list[str]) -> None:
        """The live orders of these markets loaded when their shard was taken: resting ones
        into their books (in time priority), those `submitted` held until the chain says
        their transaction can no longer land (one lookup for them all), the others executed
        on from where they stopped."""
        in_doubt = []
        for row in rows:
            order = LiveOrder.from_row(row, self._markets[row.symbol])
            if order.status in fsm.RESTING:
                self._roster.known[order.id] = order
                self._state.rest(order)
            elif order.status == "submitted":
                in_doubt.append(order)
            else:
                self._roster.spawn(order)
        self._in_doubt.settle(in_doubt)
        if rows:
            log.info("%s recovered %d live orders", self._name, len(rows))
        for symbol in symbols:
            self._executor.trigger(symbol)

    async def readopt(self, crashed: LiveOrder) -> None:
        """An execution crashed. An order it left resting (`open` or `partially_filled`
        stored, its stream entry acknowledged) has no entry to bring it back: once what was
        queued for it is stored, it goes into its book again from what PostgreSQL holds, so
        it can fill and be canceled. An order left anywhere else keeps its unacknowledged
        entry, which XAUTOCLAIM reads again."""
        try:
            await self._writer.flushed({crashed.symbol})
            row = (await self._store.orders([crashed.id])).get(crashed.id)
        except (OSError, psycopg.Error) as e:
            log.warning("order %s: not re-adopted after its crash (%s)", crashed.id, e)
            return
        if (
            row is None
            or row.status not in fsm.RESTING
            or row.symbol not in self._state.books
            or crashed.id in self._roster.known
            or crashed.id in self._state.by_id
        ):
            return
        order = LiveOrder.from_row(row, self._markets[row.symbol])
        self._roster.known[order.id] = order
        self._state.rest(order)
        log.warning("order %s: back in its book after its execution crashed", order.id)
        self._executor.trigger(order.symbol)

    async def reannounce(
        self, delays: tuple[float, ...] = (0.0,), symbols: list[str] | None = None
    ) -> None:
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
                rows = await self._store.last_events(
                    self._symbols() if symbols is None else symbols,
                    REANNOUNCE_EVENTS,
                    REANNOUNCE_S,
                )
                frames = []
                for oid, client, seq, status, ts, payload, event_id, shard, offset in rows:
                    if offset is None:
                        continue  # stored before the shard logs: in no log
                    message = ws_message(str(oid), status, seq, event_id, ts, payload)
                    position = Position(event_id, shard, offset)
                    frames.append(pubsub_frame(client, str(oid), seq, position, message))
                # one message per chunk of frames, as the writer publishes them
                for i in range(0, len(frames), PUBLISH_CHUNK):
                    await self._redis.publish(
                        self._channel, pubsub_batch(frames[i : i + PUBLISH_CHUNK])
                    )
                if rows:
                    log.info("%s re-published %d last events", self._name, len(rows))
            except (OSError, psycopg.Error, RedisError) as e:
                log.warning("%s: re-publishing last events failed (%s)", self._name, e)
