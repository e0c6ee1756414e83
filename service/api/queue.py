"""The API's side of Redis: append an accepted order to its market's shard stream and
publish its `pending` event, in one round trip."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
import redis

from service.config import Settings
from service.events import pubsub_frame
from service.markets import shard_of

log = logging.getLogger(__name__)


class OrderQueue:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.redis = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
            health_check_interval=30,
        )
        # BLPOP waits longer than the socket timeout of the main client allows.
        self.blocking = redis.Redis.from_url(
            settings.redis_url, socket_timeout=60, socket_connect_timeout=2.0
        )

    def enqueue(self, order_id: str, symbol: str, client_id: str, message: bytes) -> bool:
        """False when Redis is unreachable: the order is committed already, and the
        workers' sweeper appends it once Redis is back."""
        s = self._settings
        stream = s.stream_key(shard_of(symbol, s.shards))
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.xadd(stream, {"id": order_id, "symbol": symbol})
            pipe.publish(s.events_channel, pubsub_frame(client_id, order_id, message))
            pipe.execute()
            return True
        except redis.RedisError as e:
            log.warning(
                "order %s committed but not queued (%s); the sweeper will",
                order_id,
                e,
                extra={"order_id": order_id},
            )
            return False

    def command(
        self, symbol: str, cmd: str, args: dict[str, Any], timeout: float
    ) -> dict[str, Any] | None:
        """Append a command to the market's stream and wait for its owner's answer; None
        when no worker answered in time (or Redis is down)."""
        s = self._settings
        reply = s.key("reply", uuid.uuid4().hex)
        stream = s.stream_key(shard_of(symbol, s.shards))
        try:
            self.redis.xadd(
                stream, {"cmd": cmd, "symbol": symbol, "reply": reply, "args": orjson.dumps(args)}
            )
            got = self.blocking.blpop([reply], timeout=timeout)
        except redis.RedisError as e:
            log.warning("command %s on %s failed: %s", cmd, symbol, e)
            return None
        if got is None:
            return None
        result: dict[str, Any] = orjson.loads(got[1])
        return result

    def ping(self) -> None:
        self.redis.ping()

    def close(self) -> None:
        self.redis.close()
