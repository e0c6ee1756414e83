"""Commands for a market's owning worker (cancel, /sim/launch, /sim/price): appended to the
market's shard stream, answered on a reply list the API waits on. Also the API's Redis client,
which the group commit borrows to queue accepted orders."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
import redis

from service.config import Settings
from service.domain.markets import shard_of
from service.errors import ApiError, unavailable
from service.store.redis_client import sync_client

log = logging.getLogger(__name__)


class MarketCommands:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.redis = sync_client(
            settings.redis_url,
            settings.redis_cluster,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
            health_check_interval=30,
        )
        # BLPOP waits longer than the socket timeout of the main client allows.
        self.blocking = sync_client(
            settings.redis_url,
            settings.redis_cluster,
            socket_timeout=60,
            socket_connect_timeout=2.0,
        )

    def command(
        self, symbol: str, cmd: str, args: dict[str, Any], timeout: float
    ) -> dict[str, Any] | None:
        """Append a command to the market's stream and wait for its owner's answer; None
        when no worker answered in time (or Redis is down)."""
        return self.send(symbol, cmd, args, timeout)[1]

    def send(
        self, symbol: str, cmd: str, args: dict[str, Any], timeout: float
    ) -> tuple[bool, dict[str, Any] | None]:
        """`command`, telling also whether the command was queued: (False, None) when Redis
        refused the XADD, (True, None) when it is queued but unanswered in time (its owner
        applies it later all the same)."""
        s = self._settings
        reply = s.key("reply", uuid.uuid4().hex)
        stream = s.stream_key(shard_of(symbol, s.shards))
        try:
            self.redis.xadd(
                stream, {"cmd": cmd, "symbol": symbol, "reply": reply, "args": orjson.dumps(args)}
            )
        except redis.RedisError as e:
            log.warning("command %s on %s not queued: %s", cmd, symbol, e)
            return False, None
        try:
            got = self.blocking.blpop([reply], timeout=timeout)
        except redis.RedisError as e:
            log.warning("command %s on %s unanswered: %s", cmd, symbol, e)
            return True, None
        if got is None:
            return True, None
        result: dict[str, Any] = orjson.loads(got[1])
        return True, result

    def ping(self) -> None:
        self.redis.ping()

    def unowned_shards(self) -> list[int]:
        """Shards whose lease no live worker holds (service/worker/leases.py): their orders
        wait. One GET per shard (each its own hash slot)."""
        s = self._settings
        pipe = self.redis.pipeline(transaction=False)
        for shard in range(s.shards):
            pipe.exists(s.lease_key(shard))
        return [shard for shard, held in enumerate(pipe.execute()) if not held]

    def close(self) -> None:
        self.redis.close()


def raise_for_reply(result: dict[str, Any] | None) -> None:
    """A worker's reply to a command as the API answers it: no reply is 503, an error reply
    its ApiError."""
    if result is None:
        raise unavailable("worker")
    if result["status"] >= 500:  # the worker's exception text stays in the logs
        log.error("worker answered %s: %s", result["status"], result.get("message"))
        raise ApiError(result["status"], "internal_error", "internal error")
    if result["status"] >= 400:
        raise ApiError(
            result["status"],
            result.get("code", "error"),
            result.get("message") or result.get("code", "error"),
            result.get("field"),
        )
