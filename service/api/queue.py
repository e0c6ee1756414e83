"""The API's side of Redis: append an accepted order to its market's shard stream and
publish its `pending` event, in one round trip."""

from __future__ import annotations

import logging

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
            log.warning("order %s committed but not queued (%s); the sweeper will", order_id, e)
            return False

    def ping(self) -> None:
        self.redis.ping()

    def close(self) -> None:
        self.redis.close()
