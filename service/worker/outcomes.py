"""How an execution ends or rests: the status that follows `confirmed`, an order resting in
its market's book, and the final statuses, each counted in the metrics once it ends the
order (orders_total, order_execution_duration_seconds, order_fill_ratio)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from engine_core import fsm
from service.domain.cursor import Position
from service.domain.order import LiveOrder
from service.metrics import (
    Tally,
    child,
    order_execution_duration_seconds,
    order_fill_ratio,
    orders_total,
)
from service.worker.market_state import MarketState
from service.worker.writer import EventWriter


class Outcomes:
    def __init__(self, writer: EventWriter, state: MarketState, tally: Tally) -> None:
        self._writer = writer
        self._state = state
        self._tally = tally

    def after_execution_now(self, order: LiveOrder) -> asyncio.Future[Position]:
        """Queue the status that follows `confirmed`; returns the future of the last one."""
        if order.remaining == 0:
            return self.final(order, "filled")
        if order.cancel_requested:
            self._writer.queue(order, "partially_filled")
            return self.final(order, "canceled")
        if order.rests_remainder:
            fut = self._writer.transition(order, "partially_filled")
            self._state.rest(order)
            return fut
        return self.final(order, "expired")

    async def rest(self, order: LiveOrder) -> None:
        """Into the book (`open`, or `partially_filled` with a fill), or `canceled` when a
        cancel came meanwhile."""
        if order.cancel_requested:
            await self.end(order, "canceled")
            return
        status = "open" if order.filled == 0 else "partially_filled"
        if order.status != status:
            await self._writer.transition(order, status)
        self._state.rest(order)

    async def end(self, order: LiveOrder, status: str) -> None:
        await self.final(order, status)

    def final(self, order: LiveOrder, status: str, **kw: Any) -> asyncio.Future[Position]:
        """Queue a status change, counted in the metrics when it ends the order."""
        fut = self._writer.transition(order, status, **kw)
        if fsm.is_terminal(status):
            self._observe_final(order)
        return fut

    async def expire(self, order: LiveOrder) -> None:
        await self.end(order, "expired")

    async def cancel_resting(self, order: LiveOrder) -> None:
        self._state.unrest(order)
        await self.end(order, "canceled")

    def _observe_final(self, order: LiveOrder) -> None:
        t, kind, side = self._tally, order.type, order.side
        t.inc(child(orders_total, kind, side, order.status))
        age = time.time() - order.created_at.timestamp()
        t.observe(child(order_execution_duration_seconds, kind, side), max(0.0, age))
        t.observe(child(order_fill_ratio, kind, side), order.filled / order.amount)
