"""The simulated chain: network latency, transaction signatures, seeded failures, and a
ledger of the transactions sent, which survives worker restarts.

The ledger (PostgreSQL table chain_transactions, service/store/chain.py) models Solana's: a
sent transaction carries a deadline (its blockhash's lastValidBlockHeight; here sent_at +
MOCK_BLOCKHASH_VALIDITY_MS) and either lands before it (recorded with its time and slot) or
can never land. `signature_statuses` answers as getSignatureStatuses does, plus the
deadline the client keeps: landed, still valid (may land), or expired (never will). A
worker records a transaction's sending and its landing in its group commit, with the
attempt `submitted` and with `confirmed` + fills + pools, so the ledger and the orders never
disagree. Times are wall-clock seconds of the worker's host (hosts keep NTP time).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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


SLOT_MS = 400  # a Solana slot


def slot_at(t: float) -> int:
    """The mock chain's slot at wall-clock time `t` (seconds)."""
    return int(t * 1000) // SLOT_MS


@dataclass(frozen=True, slots=True)
class ChainTx:
    """A transaction as the ledger records it: sent at `sent_at`, able to land until
    `valid_until` (seconds); `landed` once it did."""

    signature: str
    sent_at: float
    valid_until: float
    landed: bool = False

    def landing(self) -> ChainTx:
        return ChainTx(self.signature, self.sent_at, self.valid_until, True)


SignatureState = Literal["landed", "valid", "expired"]


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    state: SignatureState
    valid_until: float | None = None  # known when sent
    landed_at: float | None = None
    slot: int | None = None
    outcome: str | None = None


class LedgerRow(Protocol):
    valid_until: float
    landed_at: float | None
    slot: int | None
    outcome: str | None


class Ledger(Protocol):
    """Where the ledger is kept (service/store/chain.py, ChainLedger)."""

    async def transactions(self, signatures: Sequence[str]) -> dict[str, Any]: ...


def status_of(row: LedgerRow | None, now: float) -> SignatureStatus:
    """A signature's status from its ledger row at time `now`. A signature the ledger never
    recorded was never sent (the sending is stored in the commit that stores the attempt
    `submitted`, before the transaction can land): it can never land, as an expired one."""
    if row is None:
        return SignatureStatus("expired")
    if row.landed_at is not None:
        return SignatureStatus("landed", row.valid_until, row.landed_at, row.slot, row.outcome)
    if now > row.valid_until:
        return SignatureStatus("expired", row.valid_until)
    return SignatureStatus("valid", row.valid_until)


class MockChain:
    def __init__(self, settings: Settings, seed: int, ledger: Ledger | None = None) -> None:
        self._quote_ms = settings.mock_quote_latency_ms
        self._swap_ms = settings.mock_swap_latency_ms
        self._failure_rate = settings.mock_failure_rate
        self.validity_s = settings.mock_blockhash_validity_ms / 1000
        self._rng = random.Random(seed)
        self._ledger = ledger

    def send(self, signature: str) -> ChainTx:
        """The transaction as sent now: it may land until now + the blockhash validity."""
        now = time.time()
        return ChainTx(signature, now, now + self.validity_s)

    @staticmethod
    def expired(tx: ChainTx) -> bool:
        """Past its deadline: it can no longer land."""
        return time.time() > tx.valid_until

    async def signature_statuses(self, signatures: Sequence[str]) -> dict[str, SignatureStatus]:
        """As Solana's getSignatureStatuses, in one lookup: each signature landed, still
        valid (may land until `valid_until`), or expired (never will)."""
        if self._ledger is None:
            raise RuntimeError("this mock chain keeps no ledger")
        rows = await self._ledger.transactions(signatures)
        now = time.time()
        return {sig: status_of(rows.get(sig), now) for sig in signatures}

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

    @property
    def always_lands(self) -> bool:
        """No failure is injected: a sent transaction lands unless its deadline passed
        (landing_error draws nothing)."""
        return not self._failure_rate

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
