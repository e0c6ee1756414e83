"""Group commit of new orders inside one API process (gunicorn gthread: one thread per
request in flight).

Every request thread queues its order and waits. One of the waiting threads, the leader,
takes everything queued (up to MAX_BATCH orders) and inserts it with ONE statement in ONE
transaction (`OrderStore.insert_many`); the threads that queued meanwhile wait for the next
leader, which starts as soon as the previous commit returned. After the commit the leader
appends the batch to the market streams and publishes the `pending` events in ONE Redis
pipeline, and only then wakes the batch's requests: each 201 still means "committed and
queued", as with one transaction per request, but a busy process pays one commit and one
Redis round trip per batch instead of per order.

No extra thread, nothing to start or stop: with a single request in flight the leader is
that request's own thread and the path is as short as before (one statement, one pipeline).

Idempotency is the database's, as before: an order whose (clientId, idempotency key) exists
already, or repeats earlier in the same batch, is not inserted and gets None, after which
the resource reads the stored order (200 or 409). A batch that fails on bad data (which
validation should have refused) is retried one order at a time, so one bad order never fails
its neighbours; PostgreSQL unreachable fails every order of the batch (503).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
import redis

from service.config import Settings
from service.domain.cursor import Position
from service.domain.markets import shard_of
from service.domain.wire import pubsub_batch, pubsub_frame, ws_message
from service.store.orders import OrderStore, Unavailable
from service.store.redis_client import publish_first

log = logging.getLogger(__name__)

MAX_BATCH = 512
LANDED_RETRIES_S = (0.0, 0.1, 0.3)  # waits before each look-up after a lost answer

Result = tuple[dict[str, Any], Position] | None

# Several orders' entries in one stream, in order, with one command: XADD each (fields `id`,
# `symbol`, as one XADD writes them). The script names its one key, so on a Redis Cluster
# it runs on the stream's node. (One XADD each cost the API a command and a reply per order.)
XADD_ALL = """
for i = 1, #ARGV, 2 do
  redis.call('XADD', KEYS[1], '*', 'id', ARGV[i], 'symbol', ARGV[i + 1])
end
return #ARGV / 2
"""


class _Batch:
    __slots__ = ("items", "published")

    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        self.published = threading.Event()


class _Item:
    __slots__ = ("values", "batch", "result", "error")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.batch: _Batch | None = None
        self.result: Result = None
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(
        self,
        settings: Settings,
        store: OrderStore,
        redis_client: redis.Redis,
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._settings = settings
        self._store = store
        self._redis = redis_client
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Item] = []
        self._leading = False  # a batch is being committed
        self.batches = 0  # committed batches (tests and benchmarks read them)
        self.orders = 0

    def insert(self, values: dict[str, Any]) -> Result:
        """Insert the order (values as for `OrderStore.insert`) with its pending event, then
        append it to its market's stream and publish the event; returns (row, position of the
        pending event), or
        None when its idempotency key exists. Raises what the insert raised."""
        item = _Item(self._stamped(values, datetime.now(UTC)))
        batch: _Batch | None = None
        with self._cond:
            self._queue.append(item)
            while item.batch is None and self._leading:
                self._cond.wait()
            if item.batch is None:  # lead: take everything queued so far
                items = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                batch = _Batch(items)
                for it in items:
                    it.batch = batch
                self._leading = True
        if batch is not None:
            try:
                self._commit(batch.items)
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()
            try:
                self._publish(batch.items)
            finally:
                batch.published.set()
        else:
            assert item.batch is not None
            item.batch.published.wait()
        if item.error is not None:
            raise item.error
        return item.result

    def insert_all(self, rows: list[dict[str, Any]]) -> list[Result | BaseException]:
        """A client's batch (POST /orders/batch): every order in ONE statement and ONE
        commit, then ONE Redis pipeline, outside the group queue (the batch is its own
        group). Per order, as `insert` returns it, or the exception its insert raised."""
        now = datetime.now(UTC)
        items = [_Item(self._stamped(values, now)) for values in rows]
        self._commit(items)
        self._publish(items)
        return [it.error if it.error is not None else it.result for it in items]

    # -- internals --
    def _stamped(self, values: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The values with their acceptance time and their market's shard (whose log the
        pending event goes to)."""
        return {**values, "ts": now, "shard": shard_of(values["symbol"], self._settings.shards)}

    def _commit(self, items: list[_Item]) -> None:
        try:
            results = self._store.insert_many([it.values for it in items])
        except Unavailable as e:
            # The answer may have been lost after the COMMIT landed: the orders are looked up
            # by id before anyone is told 503 (a retry without an idempotency key would
            # otherwise place the same order twice).
            landed = self._landed(items)
            for it in items:
                got = landed.get(str(it.values["id"]))
                if got is None:
                    it.error = e
                else:
                    it.result = got
            if landed:
                log.warning(
                    "insert failed (%s) after %d orders landed: answered 201", e, len(landed)
                )
                self.batches += 1
                self.orders += len(landed)
            return
        except psycopg.Error as e:
            if len(items) == 1:
                items[0].error = e
                return
            log.warning("a batch of %d orders failed (%s); inserting one at a time", len(items), e)
            for it in items:
                self._commit([it])
            return
        except Exception as e:  # noqa: BLE001 - each request answers 500 with it
            for it in items:
                it.error = e
            return
        self.batches += 1
        self.orders += len(items)
        for it, result in zip(items, results, strict=True):
            it.result = result

    def _landed(self, items: list[_Item]) -> dict[str, tuple[dict[str, Any], Position]]:
        """Which of these orders are stored after all (a few tries; {} if PostgreSQL stays
        unreachable: then they get 503, and the sweeper queues any that did land)."""
        ids = [it.values["id"] for it in items]
        for delay in LANDED_RETRIES_S:
            time.sleep(delay)
            try:
                return self._store.landed(ids)
            except Unavailable:
                continue
        return {}

    def _publish(self, items: list[_Item]) -> None:
        """XADD each inserted order to its market's stream and PUBLISH its pending event, in
        one pipeline. Redis down: the orders are committed; the workers' sweeper queues them
        once it is back (and clients replay the event from PostgreSQL)."""
        s = self._settings
        created = [(it.values, it.result) for it in items if it.result is not None]
        if not created:
            return
        try:
            frames = []
            for values, (row, position) in created:
                order_id = str(row["id"])
                message = ws_message(
                    order_id, "pending", 1, position.event_id, row["created_at"], values["payload"]
                )
                frames.append(pubsub_frame(row["client_id"], order_id, 1, position, message))
            pipe = self._redis.pipeline(transaction=False)
            # the events (one message) before the entries: a worker may read an entry and
            # publish `routing` at once
            publish_first(self._redis, pipe, s.events_channel, [pubsub_batch(frames)])
            by_stream: dict[str, list[str]] = {}
            for _, (row, _) in created:
                entries = by_stream.setdefault(s.stream_key(shard_of(row["symbol"], s.shards)), [])
                entries += (str(row["id"]), row["symbol"])
            for stream, entries in by_stream.items():
                if len(entries) == 2:
                    pipe.xadd(stream, {"id": entries[0], "symbol": entries[1]})
                else:  # one command for the stream's entries, not one each
                    pipe.eval(XADD_ALL, 1, stream, *entries)
            pipe.execute()
        except redis.RedisError as e:
            log.warning(
                "%d orders committed but not queued (%s); the sweeper will", len(created), e
            )
