"""Backpressure: while a shard's backlog (entries pending in its workers plus entries not yet
delivered) passes STREAM_BACKLOG_MAX, new orders for its markets are refused with 503 and
`Retry-After` before anything is stored. The backlog is read from Redis at most every
CHECK_EVERY_S per shard and process; with Redis unreachable orders are not refused here (they
are committed, and the sweeper queues them once Redis is back)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis

from service.config import Settings
from service.domain.markets import shard_of
from service.errors import ApiError
from service.metrics import engine_backpressure_total

log = logging.getLogger(__name__)

CHECK_EVERY_S = 0.25
RETRY_AFTER_S = 2


def backlog_of(redis_client: redis.Redis, stream: str, group: str) -> int:
    """Entries of the stream not yet acknowledged by the group (pending + undelivered)."""
    pipe = redis_client.pipeline(transaction=False)
    pipe.xinfo_groups(stream)
    pipe.xlen(stream)
    groups: Any
    try:
        groups, length = pipe.execute()
    except redis.ResponseError:  # no stream yet
        return 0
    for g in groups:
        if g["name"] in (group, group.encode()):
            lag = g.get("lag")
            return int(g["pending"]) + int(length if lag is None else lag)
    return int(length)  # no group yet: nothing has read any of it


class Backpressure:
    def __init__(self, settings: Settings, redis_client: redis.Redis) -> None:
        self._settings = settings
        self._redis = redis_client
        self._lock = threading.Lock()
        self._seen: dict[int, tuple[float, int]] = {}  # shard -> (monotonic time, backlog)
        self._reading: set[int] = set()  # shards whose backlog a thread is reading now

    def backlog(self, shard: int) -> int | None:
        """The shard's backlog as last read; read again once it is CHECK_EVERY_S old, by
        one request thread at a time (the others go on with the last reading meanwhile)."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(shard)
            if seen is not None and (now - seen[0] < CHECK_EVERY_S or shard in self._reading):
                return seen[1]
            self._reading.add(shard)
        s = self._settings
        try:
            n = backlog_of(self._redis, s.stream_key(shard), s.group)
        except redis.RedisError as e:
            log.debug("backlog of shard %d unknown (%s)", shard, e)
            with self._lock:
                self._reading.discard(shard)
            return None
        with self._lock:
            self._reading.discard(shard)
            self._seen[shard] = (now, n)
        return n

    def admit(self, symbol: str) -> None:
        """Raise 503 (Retry-After) while the market's shard is too far behind."""
        shard = shard_of(symbol, self._settings.shards)
        n = self.backlog(shard)
        if n is not None and n >= self._settings.stream_backlog_max:
            engine_backpressure_total.inc()
            raise ApiError(
                503,
                "backlog_full",
                f"the engine is {n} entries behind on {symbol}'s shard; try again shortly",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
