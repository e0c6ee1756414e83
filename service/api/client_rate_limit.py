"""Per-client request rate limit, shared by every API process through Redis.

`RATE_LIMIT_PER_MIN` requests per client per minute, as a GCRA (the "generic cell rate
algorithm", a leaky bucket stored as one timestamp): a client may send the whole minute's
allowance at once, then one request every 60/N seconds. One Lua script per request reads
and moves that timestamp with Redis's own clock, so any number of gunicorn workers on any
number of machines share one budget, and no two of them can both take the last slot.

Two budgets per client, each of `RATE_LIMIT_PER_MIN`: `write` (POST, DELETE: order entry,
cancels, simulator commands) and `read` (GET), so a dashboard polling its orders never
takes order entry's slots. Over the limit: 429 `rate_limited` with `Retry-After` in whole
seconds (at least 1).

Who the client is: the API key's clientId (an operator's name for `/sim/*`); when the API
runs open, the `clientId` of the order body (charged by the order resource through
`admit_client`, once the body is parsed) or of the query string.

Every request but the open paths is also charged to its source address (api/source.py), one
budget of `RATE_LIMIT_PER_SOURCE_PER_MIN` for every method, before the key is checked: so
changing `clientId`, listing, cancelling or sending market commands without keys is limited
too. A wrong API key costs a slot of a small budget of its own per source (BAD_KEYS_PER_MIN),
so keys can't be guessed at speed.

Redis down or slow never blocks a request: the check fails open, says so once in the log
(and once more when Redis is back), and skips Redis for a second before trying again, so an
outage costs no latency either.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import falcon
import redis

from service.api.auth import authenticated_client, is_open_path
from service.api.source import SourceResolver
from service.config import Settings
from service.errors import ApiError
from service.store.redis_client import sync_client

log = logging.getLogger(__name__)

WINDOW_MS = 60_000
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BAD_KEYS_PER_MIN = 30
_CLIENT_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,64}")

# KEYS[1]: the client's bucket. ARGV[1]: ms between requests at the steady rate (60000/N),
# ARGV[2]: the window (60000 ms). The key holds the "theoretical arrival time" (TAT, ms).
# Returns {1, remaining} when admitted, {0, ms until the next request may go} when not.
GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if allow_at > now then
  return {0, math.ceil(allow_at - now)}
end
-- at least 1 ms: a limit so high its interval is below a double's resolution at this
-- magnitude (ms since 1970) leaves new_tat == now, and PX 0 is refused
local ttl = math.max(1, math.ceil(new_tat - now))
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', ttl)
return {1, math.floor((window - (new_tat - now)) / interval)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int  # requests left right now (when allowed)
    retry_after_ms: int  # when refused


class RateLimiter:
    def __init__(
        self,
        settings: Settings,
        client: redis.Redis | None = None,
        *,
        timeout: float = 0.25,
        skip_after_failure: float = 1.0,
    ) -> None:
        self.settings = settings
        self.per_min = settings.rate_limit_per_min
        self.interval_ms = WINDOW_MS / self.per_min
        self.redis = client or sync_client(
            settings.redis_url,
            settings.redis_cluster,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=30,
        )
        self._script = self.redis.register_script(GCRA_LUA)
        self._skip_after_failure = skip_after_failure
        self._lock = threading.Lock()
        self._down = False
        self._skip_until = 0.0

    def key(self, client_id: str, bucket: str) -> str:
        # buckets: write, read (per client), source, badkey (per source address)
        # the clientId goes last, so no clientId (they may contain ':') can reach another's key
        if bucket == "write":
            return self.settings.key("ratelimit", "client", client_id)
        return self.settings.key("ratelimit", bucket, client_id)

    def hit(
        self, client_id: str, bucket: str = "write", per_min: int | None = None
    ) -> Decision | None:
        """Take one slot; None when Redis can't say (the caller lets the request through)."""
        if self._down and time.monotonic() < self._skip_until:
            return None
        interval = self.interval_ms if per_min is None else WINDOW_MS / per_min
        try:
            allowed, value = self._script(
                keys=[self.key(client_id, bucket)], args=[repr(interval), WINDOW_MS]
            )
        except (redis.RedisError, OSError) as e:
            self._failed(e)
            return None
        if self._down:
            self._recovered()
        if allowed:
            return Decision(True, int(value), 0)
        return Decision(False, 0, max(1, int(value)))

    def check(self, client_id: str, bucket: str = "write", per_min: int | None = None) -> None:
        """429 with Retry-After when the client (or source) is over its limit."""
        decision = self.hit(client_id, bucket, per_min)
        if decision is None or decision.allowed:
            return
        retry_after = max(1, math.ceil(decision.retry_after_ms / 1000))
        what = {"source": "requests from this address", "badkey": "wrong API keys"}
        raise ApiError(
            429,
            "rate_limited",
            f"more than {per_min or self.per_min} {what.get(bucket, 'requests')} a minute;"
            f" retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )

    def _failed(self, e: Exception) -> None:
        with self._lock:
            first = not self._down
            self._down = True
            self._skip_until = time.monotonic() + self._skip_after_failure
        if first:
            log.warning("rate limit off while Redis is unreachable (%s); requests go through", e)

    def _recovered(self) -> None:
        with self._lock:
            was_down, self._down = self._down, False
        if was_down:
            log.info("Redis is back; rate limiting again")

    def close(self) -> None:
        self.redis.close()


class SourceLimitMiddleware:
    """First of all: the budget of the request's source address (api/source.py)."""

    def __init__(self, limiter: RateLimiter, source: SourceResolver) -> None:
        self.limiter = limiter
        self.source = source
        self.per_min = limiter.settings.rate_limit_per_source_per_min

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.source = self.source(req)
        if not is_open_path(req.path):
            self.limiter.check(req.context.source, "source", self.per_min)

    def bad_key(self, req: falcon.Request) -> None:
        """AuthMiddleware's hook for a wrong key: 429 once the source has sent too many."""
        self.limiter.check(getattr(req.context, "source", "unknown"), "badkey", BAD_KEYS_PER_MIN)


class RateLimitMiddleware:
    """Runs after AuthMiddleware, before routing: a client over its limit costs no query."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.rate_limit_pending = None
        if is_open_path(req.path):
            return
        bucket = "write" if req.method in WRITE_METHODS else "read"
        client = authenticated_client(req)
        operator = getattr(req.context, "operator", None)
        if operator is not None:
            client = f"operator:{operator}"
        if client is None:
            if req.method == "POST":  # open: the body's clientId, once parsed
                req.context.rate_limit_pending = functools.partial(
                    self.limiter.check, bucket=bucket
                )
                return
            client = _query_client(req)
            if client is None:
                return
        self.limiter.check(client, bucket)


def _query_client(req: falcon.Request) -> str | None:
    value: Any = req.params.get("clientId")
    if isinstance(value, str) and _CLIENT_ID.fullmatch(value):
        return value
    return None
