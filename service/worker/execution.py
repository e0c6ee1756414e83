"""One order's execution, attempt by attempt:

    routing -> building -> submitted -> confirmed -> filled

A retryable failure starts a new attempt after an exponential backoff (`attempts` rises);
a final one, or the last attempt, ends `failed` with the reason. The swap lands in the same
transaction as the `confirmed` event, so a fill is never recorded twice.
"""

from __future__ import annotations

import asyncio
import logging
import time

from engine_core.fills import slippage_bound, within_slippage
from engine_core.pools import InsufficientLiquidity
from engine_core.router import Route, best_route, execute_route
from service.config import Settings
from service.metrics import (
    engine_attempts_total,
    order_execution_duration_seconds,
    order_fill_ratio,
    orders_total,
)
from service.routes import route_json
from service.worker.chain import FINAL, MockChain, tx_signature
from service.worker.live_order import LiveOrder
from service.worker.market_state import MarketState
from service.worker.ratelimit import RateLimiter
from service.worker.writer import EventWriter, Fill

log = logging.getLogger(__name__)


class AttemptFailed(Exception):
    def __init__(self, reason: str, tx_hash: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tx_hash = tx_hash


class Executor:
    def __init__(
        self,
        settings: Settings,
        writer: EventWriter,
        chain: MockChain,
        limiter: RateLimiter,
        markets: MarketState,
    ) -> None:
        self._settings = settings
        self._writer = writer
        self._chain = chain
        self._limiter = limiter
        self._markets = markets

    async def run(self, order: LiveOrder) -> None:
        if order.status == "confirmed":
            # The swap landed before a restart; only the final status is missing.
            await self._finish(order)
            return
        failed: tuple[int, str, str, str | None] | None = None
        reason = None
        if order.status == "submitted":
            # Taken over mid-attempt: that transaction never landed (landing and `confirmed`
            # are one commit), so it is closed as not landed and a new attempt starts.
            reason = "not_landed"
            failed = (order.attempts, tx_signature(order.id, order.attempts), "failed", reason)
        while True:
            await self._limiter.acquire()
            order.attempts += 1
            extra = {"lastError": reason} if reason else None
            await self._writer.transition(order, "routing", attempt=failed, extra=extra)
            try:
                await self._attempt(order)
                engine_attempts_total.labels("landed").inc()
                await self._finish(order)
                return
            except AttemptFailed as e:
                engine_attempts_total.labels(e.reason).inc()
                reason = e.reason
                failed = (order.attempts, e.tx_hash, "failed", e.reason) if e.tx_hash else None
                log.info("order %s attempt %d failed: %s", order.id, order.attempts, e.reason)
                if e.reason in FINAL or order.attempts >= self._settings.max_attempts:
                    order.failure_reason = e.reason
                    await self._writer.transition(order, "failed", attempt=failed)
                    self._observe_final(order)
                    return
                await asyncio.sleep(
                    self._chain.backoff_s(order.attempts, self._settings.retry_base_ms)
                )

    async def _attempt(self, order: LiveOrder) -> None:
        await self._chain.quote_delay()
        pools = self._markets.pools(order.symbol)
        if not pools:
            raise AttemptFailed("pool_not_open")
        try:
            route = best_route(pools, order.side, order.remaining)
        except InsufficientLiquidity:
            raise AttemptFailed("insufficient_liquidity") from None
        bound = slippage_bound(order.side, route.quote_amount, order.slippage_bps)
        plan = route_json(route, order.market, bound=bound)
        log.info(
            "route order=%s %s %s %d via %s quote=%s",
            order.id,
            order.symbol,
            order.side,
            order.remaining,
            "+".join(leg["venue"] for leg in plan["legs"]),
            plan["quoteAmount"],
        )
        await self._writer.transition(order, "building", route=plan, extra={"route": plan})
        tx = tx_signature(order.id, order.attempts)
        await self._writer.transition(
            order,
            "submitted",
            attempt=(order.attempts, tx, "submitted", None),
            extra={"pendingTx": tx},
        )
        await self._chain.swap_delay()
        error = self._chain.landing_error()
        if error:
            raise AttemptFailed(error, tx)
        self._land(order, route, bound, tx)

    def _land(self, order: LiveOrder, route: Route, bound: int, tx: str) -> None:
        """Apply the planned legs to the pools as they are now; refuse if outside slippage.
        Synchronous up to the queued `confirmed` change: no other order moves the pools
        in between, and the pool snapshot written with it includes exactly this fill."""
        pools = self._markets.pools(order.symbol)
        trial = {venue: pool.copy() for venue, pool in pools.items()}
        try:
            actual = execute_route(trial, route)
        except InsufficientLiquidity:
            raise AttemptFailed("insufficient_liquidity", tx) from None
        if not within_slippage(order.side, actual.quote_amount, bound):
            raise AttemptFailed("slippage_exceeded", tx)
        self._markets.replace(order.symbol, trial)
        fills = [Fill(leg.venue, leg.amount, leg.quote, leg.fee, tx) for leg in actual.legs]
        order.filled += actual.amount
        order.quote_amount += actual.quote_amount
        order.fees += actual.fees
        order.tx_hash = tx
        self._writer.transition(
            order,
            "confirmed",
            fills=fills,
            attempt=(order.attempts, tx, "landed", None),
            pools=(order.symbol,),
        )

    async def _finish(self, order: LiveOrder) -> None:
        # `confirmed` was queued by _land; this waits for it and the final status together.
        await self._writer.transition(
            order, "filled" if order.remaining == 0 else "partially_filled"
        )
        self._observe_final(order)

    def _observe_final(self, order: LiveOrder) -> None:
        orders_total.labels(order.type, order.side, order.status).inc()
        order_execution_duration_seconds.labels(order.type, order.side).observe(
            max(0.0, time.time() - order.created_at.timestamp())
        )
        order_fill_ratio.labels(order.type, order.side).observe(order.filled / order.amount)
