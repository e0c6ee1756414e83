"""Orders of a market executed many in one pass, with no await between them: the market
orders read together from a stream (when the chain has no latency to wait for), and the
snipers of a pool that just launched.

A pass queues each order's changes exactly as the one-at-a-time path does (routing,
building, submitted, confirmed, then its final status), order after order, so every order's
events, their order and the exactly-once rules are the same; the writer's group commit then
stores the pass in one statement and publishes it in one pipeline. What a pass saves is the
per-order task, semaphore, rate-limit future and awaits. An order waits only where it really
waits: after a failed attempt its retry, after the backoff, is a task of its own.

Where a market's orders of the pass are all plain market orders (a base amount), its book
is empty and the chain injects no failure, they are planned and filled in one call into
engine_core (market_pass.fill_market_orders: each order on the pools as the ones before it
left them, exactly as one at a time), and only their changes are queued here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple

from engine_core.market_pass import fill_market_orders
from engine_core.router import Route
from service.domain.cursor import Position
from service.domain.order import LiveOrder
from service.domain.plan_json import worst_price
from service.metrics import child, engine_attempts_total, engine_pass_size
from service.simulator.chain import ChainTx, MockChain, tx_signature
from service.worker.executor import Executor
from service.worker.market_state import MarketState
from service.worker.planner import AttemptFailed, Plan, with_json
from service.worker.roster import Roster
from service.worker.writer import EventWriter


class OneCall(NamedTuple):
    """An order's attempt as the market's one call left it (market_pass.fill_market_orders'
    result, and the transaction sent for it)."""

    route: Route | None  # None: nothing sent (`reason`)
    bound: int | None
    actual: Route | None  # None: sent, did not land (`reason`); else landed, in the pools
    reason: str | None
    tx: ChainTx | None


class BatchExecutor:
    def __init__(
        self,
        executor: Executor,
        writer: EventWriter,
        chain: MockChain,
        state: MarketState,
        roster: Roster,
        diverged: Callable[[str], None],
    ) -> None:
        self._executor = executor
        # a market whose pools here are ahead of what will be stored: its shard is given up
        # (Ownership.lost: state, queued changes and executions dropped, the lease released)
        # and reloaded from PostgreSQL by whoever takes it next
        self._diverged = diverged
        self._writer = writer
        self._chain = chain
        self._instant = chain.instant_quote and chain.instant_swap
        self._state = state
        self._roster = roster

    def ready(self, order: LiveOrder) -> bool:
        """A market order not started yet, on a launched market, that nothing will make
        wait (no latency of the chain): its first attempt runs to its end in one go."""
        return (
            self._instant
            and order.type == "market"
            and order.status == "pending"
            and not order.cancel_requested
            and self._state.launched(order.symbol)
        )

    async def run(self, orders: list[LiveOrder]) -> None:
        """Ready market orders the roster holds: one attempt each, in the order given (stream
        order), as many at a time as the rate limit lets start."""
        start = 0
        while start < len(orders):
            n = await self._executor.start_slots(len(orders) - start)
            self._pass(orders[start : start + n])
            start += n

    def _pass(self, orders: list[LiveOrder]) -> None:
        engine_pass_size.observe(len(orders))
        with self._executor.tally.deferred():
            self._orders(orders)

    def _orders(self, orders: list[LiveOrder]) -> None:
        roster = self._roster
        todo = []
        for order in orders:
            if roster.inflight.get(order.id) is not order:
                continue  # its shard was given up meanwhile
            if not self.ready(order):  # a cancel came meanwhile
                roster.run_alone(order)
                continue
            todo.append(order)
        filled = self._filled_in_one_call(todo)
        for order in todo:
            if roster.inflight.get(order.id) is not order:
                continue  # its market was given up meanwhile (below)
            done = filled.get(order.id)
            try:
                last = self._first_attempt(order) if done is None else self._queue(order, done)
            except Exception:  # noqa: BLE001 - as an execution task's crash (Roster)
                roster.crashed(order)
                if done is not None and done.actual is not None:
                    # its fill is in the pools already (the one call), its `confirmed` was
                    # never queued: the pools here must not be stored
                    self._diverged(order.symbol)
                continue
            if last is not None:
                roster.ends_with(order.id, last)

    def _first_attempt(self, order: LiveOrder) -> asyncio.Future[Position] | None:
        """Queue the order's first attempt and what follows it; returns the future of its
        last change, or None when a retry task took the order over."""
        ex = self._executor
        order.attempts += 1
        self._writer.queue(order, "routing")
        try:
            plan = ex.route(order)
            tx, _ = ex.submit(order, plan)
            ex.land(order, plan, tx)
        except AttemptFailed as e:
            return self._failed(order, e)
        ex.tally.inc(child(engine_attempts_total, "landed"))
        return ex.outcomes.after_execution_now(order)

    def _failed(self, order: LiveOrder, e: AttemptFailed) -> asyncio.Future[Position] | None:
        """The first attempt failed: the order fails, or a retry task takes it over."""
        ex = self._executor
        failed, ends = ex.attempt_failed(order, e, 1)
        if ends:
            return ex.outcomes.final(order, "failed", attempt=failed)
        self._roster.continue_with(order, ex.retry_after_backoff(order, 1, e.reason, failed))
        return None

    # -- a market's orders in one call into engine_core --
    def _filled_in_one_call(self, orders: list[LiveOrder]) -> dict[str, OneCall]:
        """order id -> its OneCall, for the orders of each
        market that one call plans and fills: every order of that market in the pass is a
        plain market order, its book is empty (no maker to match, nothing to trigger), and
        the chain injects no failure (no landing draws a random number)."""
        if not self._chain.always_lands:
            return {}
        markets: dict[str, list[LiveOrder]] = {}
        for order in orders:
            markets.setdefault(order.symbol, []).append(order)
        out: dict[str, OneCall] = {}
        for symbol, group in markets.items():
            if len(self._state.books[symbol]) or any(o.quote_target is not None for o in group):
                continue
            out.update(self._market_pass(symbol, group))
        return out

    def _market_pass(self, symbol: str, orders: list[LiveOrder]) -> dict[str, OneCall]:
        pools = self._state.pools(symbol)
        before = {venue: pool.copy() for venue, pool in pools.items()}
        try:
            results = fill_market_orders(
                pools,
                [(o.side, o.remaining, o.slippage_bps) for o in orders],
                orders[0].market.base.decimals,
            )
        except Exception:  # noqa: BLE001 - an order it refuses crashes alone, one at a time
            self._state.replace(symbol, before)
            return {}
        # Each planned order's transaction, sent now (its attempt is the next one). One found
        # past its deadline already (the process was held up since): the pass is undone and
        # the orders go one at a time, where that attempt fails `blockhash_expired`.
        sent = [
            None if r[0] is None else self._chain.send(tx_signature(o.id, o.attempts + 1))
            for o, r in zip(orders, results, strict=True)
        ]
        if any(tx is not None and self._chain.expired(tx) for tx in sent):
            self._state.replace(symbol, before)
            return {}
        return {o.id: OneCall(*r, tx) for o, r, tx in zip(orders, results, sent, strict=True)}

    def _queue(self, order: LiveOrder, done: OneCall) -> asyncio.Future[Position] | None:
        """The changes of an attempt planned and filled by the market's one call, as
        _first_attempt queues them."""
        ex = self._executor
        order.attempts += 1
        self._writer.queue(order, "routing")
        if done.route is None:
            assert done.reason is not None
            return self._failed(order, AttemptFailed(done.reason))
        tx = done.tx
        assert tx is not None
        plan = with_json(order, Plan(None, [], done.route, done.bound))
        ex.log_route(order, plan)
        ex.submit(order, plan, tx)
        if done.actual is None:
            assert done.reason is not None
            return self._failed(order, AttemptFailed(done.reason, tx.signature))
        ex.confirm(order, plan, tx, done.actual)
        ex.tally.inc(child(engine_attempts_total, "landed"))
        return ex.outcomes.after_execution_now(order)

    async def launch(self, symbol: str) -> None:
        """A pool just opened: the market's snipers fire in arrival order inside the launch,
        each seeing the pool as the ones before it left it, capped by limitPrice and by
        slippageBps from the launch price."""
        ex = self._executor
        book = self._state.books[symbol]
        snipers = sorted(
            (o for o in self._state.resting.values() if o.symbol == symbol),
            key=lambda o: o.book_seq,
        )
        ask, bid = self._state.quotes(symbol)
        waits = []
        for order in snipers:
            if order.handle not in book:
                continue
            launch_px = ask if order.side == "buy" else bid
            cap = order.limit_price
            if launch_px is not None:
                slip = worst_price(order.side, launch_px, order.slippage_bps)
                cap = (
                    slip
                    if cap is None
                    else (min(cap, slip) if order.side == "buy" else max(cap, slip))
                )
            plan = ex.plan(order, limit=cap)
            if plan is None:
                if order.time_in_force == "IOC":
                    self._state.unrest(order)
                    waits.append(ex.outcomes.final(order, "expired"))
                continue
            self._state.unrest(order)
            await ex.start_slots(1)
            order.attempts += 1
            self._writer.queue(order, "routing")
            self._writer.queue(order, "building", route=plan.json, extra={"route": plan.json})
            tx = self._chain.send(tx_signature(order.id, order.attempts))
            self._writer.queue(
                order,
                "submitted",
                attempt=(order.attempts, tx.signature, "submitted", None),
                chain=tx,
            )
            ex.settle(order, plan, tx)
            waits.append(ex.outcomes.after_execution_now(order))
        await asyncio.gather(*waits)
        ex.trigger(symbol)
