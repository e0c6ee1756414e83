"""The queue's rate limit (QUEUE_RATE_LIMIT_MAX per QUEUE_RATE_LIMIT_DURATION_MS), held across
every worker by one sliding-window log in Redis. Concurrent requests of one worker are
coalesced into one script call, granted in arrival order."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS[1] sorted set of grants, KEYS[2] its counter (one slot: a hash-tagged key and its
# `:n`); ARGV: window_ms, max, wanted, member prefix.
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
local seq = redis.call('INCRBY', KEYS[2], grant)
for i = 1, grant do
  redis.call('ZADD', KEYS[1], now, ARGV[4] .. (seq - grant + i))
end
redis.call('PEXPIRE', KEYS[1], window * 2)
redis.call('PEXPIRE', KEYS[2], window * 2)
local wait = 0
if grant < wanted then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] then wait = tonumber(oldest[2]) + window - now else wait = 1 end
end
return {grant, wait}
"""


@dataclass(slots=True)
class _Waiter:
    done: asyncio.Future[int]  # resolves to the starts granted
    wanted: int
    starts: int  # still to be granted
    some: bool  # resolved by the first grant, however small


class RateLimiter:
    def __init__(
        self, redis: aioredis.Redis, key: str, max_per_window: int, window_ms: int, member: str
    ) -> None:
        self._redis = redis
        self._key = key
        self._max = max_per_window
        self._window = window_ms
        self._member = member
        self._waiters: deque[_Waiter] = deque()
        self._script = redis.register_script(_SCRIPT)
        self._task: asyncio.Task[None] | None = None
        self._ids = itertools.count()

    async def acquire(self, n: int = 1, some: bool = False) -> int:
        """Wait for `n` starts (granted in arrival order: a later request waits for it);
        with `some`, for at least one of them. Returns the starts granted."""
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(_Waiter(fut, n, n, some))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._grant_loop())
        return await fut

    async def _grant_loop(self) -> None:
        while self._waiters:
            self._waiters = deque(w for w in self._waiters if not w.done.done())
            wanted = sum(w.starts for w in self._waiters)
            if not wanted:
                return
            try:
                granted, wait_ms = await self._script(
                    keys=[self._key, f"{self._key}:n"],
                    args=[self._window, self._max, wanted, f"{self._member}:{next(self._ids)}:"],
                )
            except Exception as e:  # noqa: BLE001 - Redis down: fail the waiters, they retry
                for w in self._waiters:
                    if not w.done.done():
                        w.done.set_exception(e)
                self._waiters.clear()
                return
            granted = int(granted)
            while granted and self._waiters:
                waiter = self._waiters[0]
                take = min(granted, waiter.starts)
                granted -= take
                waiter.starts -= take
                if not waiter.starts or waiter.some:  # (some: the caller asks again for the rest)
                    self._waiters.popleft()
                    if not waiter.done.done():  # (not canceled meanwhile: a shard dropped)
                        waiter.done.set_result(waiter.wanted - waiter.starts)
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

    async def acquire(self, n: int = 1, some: bool = False) -> int:
        """Wait for `n` attempt starts (with `some`, for at least one); returns how many."""
        try:
            granted = await self._limiter.acquire(n, some)
        except (RedisError, OSError) as e:
            if not self._down:
                log.warning("rate limiter unreachable (%s); pacing attempts locally", e)
                self._down = True
            granted = 1 if some else n
            now = time.monotonic()
            self._local_next = max(now, self._local_next + self._gap * granted)
            await asyncio.sleep(self._local_next - now)
            return granted
        if self._down:
            log.info("rate limiter reachable again")
            self._down = False
        return granted
