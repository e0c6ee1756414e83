"""The queue's rate limit (QUEUE_RATE_LIMIT_MAX per QUEUE_RATE_LIMIT_DURATION_MS), held across
every worker by one sliding-window log in Redis. Concurrent requests of one worker are
coalesced into one script call, granted in arrival order."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS[1] sorted set of grants; ARGV: window_ms, max, wanted, member prefix.
# Returns {granted, wait_ms}. Time comes from Redis, so every worker shares one clock.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local grant = math.min(wanted, max - used)
if grant < 0 then grant = 0 end
local seq = redis.call('INCRBY', KEYS[1] .. ':n', grant)
for i = 1, grant do
  redis.call('ZADD', KEYS[1], now, ARGV[4] .. (seq - grant + i))
end
redis.call('PEXPIRE', KEYS[1], window * 2)
redis.call('PEXPIRE', KEYS[1] .. ':n', window * 2)
local wait = 0
if grant < wanted then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] then wait = tonumber(oldest[2]) + window - now else wait = 1 end
end
return {grant, wait}
"""


class RateLimiter:
    def __init__(
        self, redis: aioredis.Redis, key: str, max_per_window: int, window_ms: int, member: str
    ) -> None:
        self._redis = redis
        self._key = key
        self._max = max_per_window
        self._window = window_ms
        self._member = member
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._script = redis.register_script(_SCRIPT)
        self._task: asyncio.Task[None] | None = None
        self._ids = itertools.count()

    async def acquire(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._grant_loop())
        await fut

    async def _grant_loop(self) -> None:
        while self._waiters:
            self._waiters = deque(f for f in self._waiters if not f.done())
            wanted = len(self._waiters)
            if not wanted:
                return
            try:
                granted, wait_ms = await self._script(
                    keys=[self._key],
                    args=[self._window, self._max, wanted, f"{self._member}:{next(self._ids)}:"],
                )
            except Exception as e:  # noqa: BLE001 - Redis down: fail the waiters, they retry
                for f in self._waiters:
                    if not f.done():
                        f.set_exception(e)
                self._waiters.clear()
                return
            for _ in range(int(granted)):
                self._waiters.popleft().set_result(None)
            if self._waiters:
                await asyncio.sleep(max(int(wait_ms), 1) / 1000)


class AttemptPacer:
    """A start slot of the attempt rate limit shared through Redis. With Redis unreachable
    (restarting, say) orders in flight carry on: this worker then spaces its starts by
    itself, `gap_s` apart (its share of the limit)."""

    def __init__(self, limiter: RateLimiter, gap_s: float) -> None:
        self._limiter = limiter
        self._gap = gap_s
        self._down = False
        self._local_next = 0.0  # when Redis is unreachable: the next local start time

    async def acquire(self) -> None:
        try:
            await self._limiter.acquire()
        except (RedisError, OSError) as e:
            if not self._down:
                log.warning("rate limiter unreachable (%s); pacing attempts locally", e)
                self._down = True
            now = time.monotonic()
            self._local_next = max(now, self._local_next + self._gap)
            await asyncio.sleep(self._local_next - now)
            return
        if self._down:
            log.info("rate limiter reachable again")
            self._down = False
