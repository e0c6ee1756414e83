"""The attempt rate limit shared through Redis: many starts asked at once (a pass of
orders) are granted in arrival order, all of them or, asked with `some`, what fits now."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from service.config import Settings
from service.worker.attempt_pacer import RateLimiter
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.integration


def test_a_pass_gets_what_fits_now_and_a_later_request_waits_its_turn(
    settings: Settings,
) -> None:
    async def main() -> tuple[int, int, int, float]:
        client = aioredis.Redis.from_url(REDIS_URL)
        limiter = RateLimiter(client, settings.key("ratelimit", "t"), 4, 400, "w")
        try:
            some = await limiter.acquire(10, some=True)  # 4 fit in the window
            t = time.monotonic()
            first, second = await asyncio.gather(limiter.acquire(3), limiter.acquire(1))
            return some, first, second, time.monotonic() - t
        finally:
            await client.aclose()

    some, first, second, waited = asyncio.run(main())
    assert some == 4
    assert (first, second) == (3, 1)  # all of each, in the next window
    assert waited >= 0.3
