"""The simulated chain: network latency, transaction signatures, and seeded failures."""

from __future__ import annotations

import asyncio
import hashlib
import random

from service.config import Settings
from service.simulator.codec import b58encode

# Errors an attempt can meet, as a Solana client meets them:
# - RETRYABLE, the network's (the transaction did not land): tried again after a backoff.
#   The mock chain draws these at MOCK_FAILURE_RATE, seeded by SIM_SEED and the worker.
# - REQUOTE, the price moved past the order's bound between quote and landing: tried again
#   after a backoff with a fresh quote (every attempt routes anew on the pools as they are).
# - NON_RETRYABLE, retrying cannot help: the order fails at once with this reason (no liquidity for
#   the amount, no pool open, a swap that moves nothing of a token).
# Up to MAX_ATTEMPTS attempts; the last error is the order's failureReason.
RETRYABLE = ("blockhash_expired", "rpc_timeout", "rate_limited", "not_landed")
REQUOTE = ("slippage_exceeded",)
NON_RETRYABLE = ("insufficient_liquidity", "pool_not_open", "invalid_order")


def tx_signature(order_id: str, attempt: int) -> str:
    """A Solana-shaped signature (64 bytes, base58), fixed by order and attempt, so a
    re-submission of the same attempt is recognisably the same transaction."""
    return b58encode(hashlib.sha512(f"{order_id}:{attempt}".encode()).digest())


class MockChain:
    def __init__(self, settings: Settings, seed: int) -> None:
        self._quote_ms = settings.mock_quote_latency_ms
        self._swap_ms = settings.mock_swap_latency_ms
        self._failure_rate = settings.mock_failure_rate
        self._rng = random.Random(seed)

    @property
    def instant_quote(self) -> bool:
        return self._quote_ms == (0, 0)

    @property
    def instant_swap(self) -> bool:
        return self._swap_ms == (0, 0)

    async def quote_delay(self) -> None:
        await self._sleep(self._quote_ms)

    async def swap_delay(self) -> None:
        await self._sleep(self._swap_ms)

    def landing_error(self) -> str | None:
        """None when the transaction lands; else a retryable network error."""
        if self._failure_rate and self._rng.random() < self._failure_rate:
            return self._rng.choice(RETRYABLE)
        return None

    def backoff_s(self, attempt: int, base_ms: int) -> float:
        """Exponential backoff with full jitter: up to base * 2^(attempt-1)."""
        cap = base_ms * 2.0 ** (attempt - 1) / 1000
        return cap / 2 + self._rng.random() * cap / 2

    async def _sleep(self, bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        ms = lo if lo == hi else self._rng.uniform(lo, hi)
        if ms > 0:
            await asyncio.sleep(ms / 1000)
