"""Per-client request rate limit, shared by every API process through Redis.

`RATE_LIMIT_PER_MIN` requests per client per minute, as a GCRA (the "generic cell rate
algorithm", a leaky bucket stored as one timestamp): a client may send the whole minute's
allowance at once, then one request every 60/N seconds. One Lua script per request reads
and moves that timestamp with Redis's own clock, so any number of gunicorn workers on any
number of machines share one budget, and no two of them can both take the last slot. The
same call takes the slot of the request's source address (below): one round trip for both,
all or nothing (on a Redis Cluster, whose scripts name keys of one slot only, two calls).

Two budgets per client, each of `RATE_LIMIT_PER_MIN`: `write` (POST, DELETE: order entry,
cancels, simulator commands) and `read` (GET), so a dashboard polling its orders never
takes order entry's slots. Over the limit: 429 `rate_limited` with `Retry-After` in whole
seconds (at least 1).

Who the client is: the API key's clientId (an operator's name for `/sim/*`); when the API
runs open, the `clientId` of the order body (charged by the order resource through
`admit_client`, once the body is parsed) or of the query string.

Every request but the open paths is also charged to its source address (api/source.py), one
budget of `RATE_LIMIT_PER_SOURCE_PER_MIN` for every method, whatever its key: so changing
`clientId`, listing, cancelling or sending market commands without keys is limited too. That
slot is taken with the client's; a request answered before its client is known (a missing
key, a body refused before its clientId is read) is charged as it is answered. A wrong API
key costs a slot of a small budget of its own per source (BAD_KEYS_PER_MIN), so keys can't
be guessed at speed.

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

# KEYS: the buckets to take a slot of, in order (a source's, then its client's). ARGV[1]: the
# window (60000 ms); ARGV[1 + i]: KEYS[i]'s ms between requests at its steady rate (60000/N).
# A key holds its "theoretical arrival time" (TAT, ms). All or nothing: the first bucket with
# no slot left answers {0, ms until it has one, its index} and no bucket is charged; else
# each takes a slot and the answer is {1, requests left in the last bucket}.
GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local window = tonumber(ARGV[1])
local tats = {}
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if tat < now then tat = now end
  local new_tat = tat + tonumber(ARGV[i + 1])
  local allow_at = new_tat - window
  if allow_at > now then
    return {0, math.ceil(allow_at - now), i}
  end
  tats[i] = new_tat
end
for i = 1, #KEYS do
  -- at least 1 ms: a limit so high its interval is below a double's resolution at this
  -- magnitude (ms since 1970) leaves new_tat == now, and PX 0 is refused
  local ttl = math.max(1, math.ceil(tats[i] - now))
  redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', ttl)
end
local last = tats[#KEYS]
return {1, math.floor((window - (last - now)) / tonumber(ARGV[#KEYS + 1]))}
"""

# (who, bucket, requests a minute: None for RATE_LIMIT_PER_MIN)
Bucket = tuple[str, str, int | None]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int  # requests left right now (when allowed)
    retry_after_ms: int  # when refused
    refused: Bucket | None = None  # the bucket with no slot left (when refused)


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
        # a source's bucket and its client's in one script (their keys may be in different
        # slots of a Redis Cluster, where a script may only name keys of one slot)
        self.merges = not settings.redis_cluster
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
        return self.take([(client_id, bucket, per_min)])

    def take(self, buckets: list[Bucket]) -> Decision | None:
        """One slot of each bucket, all or none, in one round trip (on a Redis Cluster the
        buckets' keys may sit on different nodes: give one at a time there, `merges`);
        None when Redis can't say."""
        if not buckets or (self._down and time.monotonic() < self._skip_until):
            return None
        intervals = [repr(self.interval_ms if n is None else WINDOW_MS / n) for _, _, n in buckets]
        try:
            reply = self._script(
                keys=[self.key(who, bucket) for who, bucket, _ in buckets],
                args=[WINDOW_MS, *intervals],
            )
        except (redis.RedisError, OSError) as e:
            self._failed(e)
            return None
        if self._down:
            self._recovered()
        if reply[0]:
            return Decision(True, int(reply[1]), 0)
        return Decision(False, 0, max(1, int(reply[1])), buckets[int(reply[2]) - 1])

    def check(self, client_id: str, bucket: str = "write", per_min: int | None = None) -> None:
        """429 with Retry-After when the client (or source) is over its limit."""
        self.check_all([(client_id, bucket, per_min)])

    def check_all(self, buckets: list[Bucket]) -> None:
        """check, for several buckets at once (all charged, or none and a 429 naming the
        first with no slot left)."""
        decision = self.take(buckets)
        if decision is None or decision.allowed:
            return
        _, bucket, per_min = decision.refused or buckets[0]
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
    """First of all: the budget of the request's source address (api/source.py). Its slot is
    taken together with the client's, in one round trip, where the client's budget is checked
    too (RateLimitMiddleware, or the order body's clientId when the API runs open); on a
    request answered before that (a wrong or missing key, a body refused before its clientId
    is read), as it is answered."""

    def __init__(self, limiter: RateLimiter, source: SourceResolver) -> None:
        self.limiter = limiter
        self.source = source
        self.per_min = limiter.settings.rate_limit_per_source_per_min

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.source = self.source(req)
        req.context.source_pending = None
        if is_open_path(req.path):
            return
        bucket: Bucket = (req.context.source, "source", self.per_min)
        if self.limiter.merges:
            req.context.source_pending = bucket
        else:
            self.limiter.check_all([bucket])

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, succeeded: bool
    ) -> None:
        # answered before its client's budget was looked at: the source's slot all the same
        bucket = getattr(req.context, "source_pending", None)
        if bucket is not None:
            req.context.source_pending = None
            self.limiter.take([bucket])

    def bad_key(self, req: falcon.Request) -> None:
        """AuthMiddleware's hook for a wrong key: 429 once the source has sent too many."""
        source = getattr(req.context, "source", "unknown")
        self.limiter.check_all(with_source(req, [(source, "badkey", BAD_KEYS_PER_MIN)]))


def with_source(req: falcon.Request, buckets: list[Bucket]) -> list[Bucket]:
    """`buckets` after the request's source bucket, when that slot is still to be taken
    (SourceLimitMiddleware): both in one round trip."""
    source = getattr(req.context, "source_pending", None)
    if source is None:
        return buckets
    req.context.source_pending = None
    return [source, *buckets]


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
                    self._check_client, req, bucket=bucket
                )
                return
            client = _query_client(req)
            if client is None:  # no client to charge: the source alone, now
                self.limiter.check_all(with_source(req, []))
                return
        self._check_client(req, client, bucket)

    def _check_client(self, req: falcon.Request, client: str, bucket: str) -> None:
        self.limiter.check_all(with_source(req, [(client, bucket, None)]))


def _query_client(req: falcon.Request) -> str | None:
    value: Any = req.params.get("clientId")
    if isinstance(value, str) and _CLIENT_ID.fullmatch(value):
        return value
    return None
