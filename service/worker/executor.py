"""Executing orders, attempt by attempt:

    routing -> building -> submitted -> confirmed -> filled | partially_filled | expired

An attempt first matches crossing resting orders of other clients in the market's book
(venue `internal`, at the resting order's price, no fee), then routes the rest to the venues,
within the order's limit price or its slippage bound. A retryable failure starts a new
attempt after an exponential backoff (`attempts` rises); a final one, or the last attempt,
ends `failed` with the reason. Everything an attempt changes (fills of both sides, pools)
lands in the memory of this worker synchronously and in PostgreSQL in one batch, so a fill
is never recorded twice.

Each attempt's transaction is recorded in the mock chain's ledger (service/simulator/
chain.py) with the attempt `submitted`, and its landing with `confirmed`. An attempt is
submitted only once: one found `submitted` that this execution did not send is settled
first by asking the chain (service/worker/in_doubt.py), and a transaction past its deadline
is refused (`blockhash_expired`) instead of landing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from engine_core import fsm
from engine_core.router import Route
from service.config import Settings
from service.domain.cursor import Position
from service.domain.order import LiveOrder
from service.domain.plan_json import quote_of
from service.metrics import (
    Tally,
    child,
    engine_attempts_total,
)
from service.simulator.chain import NON_RETRYABLE, ChainTx, MockChain, tx_signature
from service.worker.attempt_pacer import AttemptPacer, RateLimiter
from service.worker.changes import Fill
from service.worker.in_doubt import InDoubt
from service.worker.market_state import MarketState
from service.worker.outcomes import Outcomes
from service.worker.planner import (
    AttemptFailed,
    NothingExecutable,
    Plan,
    executable,
    internal_price,
    plan_order,
    swap_on_copies,
)
from service.worker.writer import EventWriter

log = logging.getLogger(__name__)

NO_QUOTES: tuple[int | None, int | None] = (None, None)


class Executor:
    def __init__(
        self,
        settings: Settings,
        writer: EventWriter,
        chain: MockChain,
        limiter: RateLimiter,
        state: MarketState,
        spawn: Callable[[LiveOrder], None],
        in_doubt: InDoubt,
    ) -> None:
        self._settings = settings
        self._writer = writer
        self._chain = chain
        s = settings
        self._pacer = AttemptPacer(
            limiter, s.queue_rate_limit_duration_ms / 1000 * s.workers / s.queue_rate_limit_max
        )
        self._state = state
        self._spawn = spawn
        self._in_doubt = in_doubt
        self.tally = Tally()  # the metrics' writes (deferred to its end in a batch pass)
        self.outcomes = Outcomes(writer, state, self.tally)

    # -- entry points --
    async def run(self, order: LiveOrder) -> None:
        """Take an order the worker owns from whatever state it is in to the next resting
        or final state."""
        if order.symbol not in self._state.books:
            return  # its shard is not ours any more: its next owner carries it on
        if order.status == "confirmed":
            # The attempt landed before a restart; only the status after it is missing.
            await self.outcomes.after_execution_now(order)
            return
        if order.status == "submitted" and not self._in_doubt.release(order.id):
            # Its transaction was sent by an execution that is gone and may still land:
            # held until the chain says it expired (then run again, and released).
            self._in_doubt.settle([order])
            return
        if order.cancel_requested and order.status in fsm.CANCELLABLE:
            await self.outcomes.cancel_resting(order)
            return
        if order.status in fsm.RESTING and self._state.is_resting(order):
            return
        if not self._state.launched(order.symbol):
            await self.outcomes.rest(order)  # a sniper waiting for its pool
            return
        if order.type != "market" and order.status == "pending":
            plan = self.plan(order)
            fok_short = order.time_in_force == "FOK" and (
                plan is None or plan.qty < order.remaining
            )
            if plan is None or fok_short:
                if order.rests_remainder:
                    await self.outcomes.rest(order)
                else:
                    await self.outcomes.end(order, "expired")
                return
        await self._execute(order)

    def trigger(self, symbol: str) -> int:
        """After the market's pools moved: start the resting orders that can now execute
        (the book finds the candidates in log time; each is confirmed by the exact limit
        computation before it leaves the book). Returns how many started."""
        book = self._state.books[symbol]
        if not len(book) or not self._state.launched(symbol):
            return 0
        ask, bid = self._state.quotes(symbol)
        started = 0
        for handle in book.executable(ask, bid):
            order = self._state.resting.get(handle)
            if order is None or self.plan(order) is None:
                continue
            self._state.unrest(order)
            self._spawn(order)
            started += 1
        return started

    # -- one execution --
    async def _execute(self, order: LiveOrder) -> None:
        failed: tuple[int, str, str, str | None] | None = None
        reason = None
        tries = 0  # attempts of this execution
        # Taken over before its attempt was submitted (routing, building): that attempt
        # starts again, same number. A market order's attempts are all of this execution.
        again = order.status in fsm.UNSUBMITTED
        if again:
            tries = order.attempts - 1 if order.type == "market" else 0
        elif order.status == "submitted":
            # Taken over mid-attempt, and the chain said its transaction expired without
            # landing (run() let it through only then: service/worker/in_doubt.py). The
            # attempt is closed as not landed and, if attempts are left, another one starts.
            # The same transaction is never submitted twice.
            reason = "not_landed"
            failed = (order.attempts, tx_signature(order.id, order.attempts), "failed", reason)
            tries = order.attempts if order.type == "market" else 1
            if tries >= self._settings.max_attempts:
                order.failure_reason = reason
                await self.outcomes.final(order, "failed", attempt=failed)
                return
        await self.attempts(order, tries, again, reason, failed)

    async def attempts(
        self,
        order: LiveOrder,
        tries: int,
        again: bool = False,
        reason: str | None = None,
        failed: tuple[int, str, str, str | None] | None = None,
    ) -> None:
        """Attempts until the order rests or ends: `tries` of this execution are spent,
        `reason` and `failed` are the last one's error and attempt row."""
        while True:
            await self._pacer.acquire()
            tries += 1
            if again:
                again = False
            else:
                order.attempts += 1
            extra = {"lastError": reason} if reason else None
            routing = self._writer.transition(order, "routing", attempt=failed, extra=extra)
            if not self._chain.instant_quote:
                # A step that waits for the network waits for its status to be stored
                # first; with no latency the next statuses join the same group commit
                # (still one event each, in order, each committed before it is published).
                await routing
            try:
                await self._attempt(order)
                child(engine_attempts_total, "landed").inc()
                await self.outcomes.after_execution_now(order)
                return
            except NothingExecutable:
                child(engine_attempts_total, "nothing_executable").inc()
                if order.rests_remainder:
                    await self.outcomes.rest(order)
                else:
                    await self.outcomes.end(order, "expired")
                return
            except AttemptFailed as e:
                failed, ends = self.attempt_failed(order, e, tries)
                if ends:
                    await self.outcomes.final(order, "failed", attempt=failed)
                    return
                reason = e.reason
                await asyncio.sleep(self._chain.backoff_s(tries, self._settings.retry_base_ms))

    async def start_slots(self, n: int) -> int:
        """Wait for attempt starts of the rate limit for a pass of `n` orders: returns how
        many of them may start now (at least one)."""
        return await self._pacer.acquire(n, some=True)

    async def retry_after_backoff(
        self, order: LiveOrder, tries: int, reason: str, failed: Any
    ) -> None:
        """The rest of an execution whose attempt `tries` failed with `reason`, retryably."""
        await asyncio.sleep(self._chain.backoff_s(tries, self._settings.retry_base_ms))
        await self.attempts(order, tries, reason=reason, failed=failed)

    def attempt_failed(
        self, order: LiveOrder, e: AttemptFailed, tries: int
    ) -> tuple[tuple[int, str, str, str | None] | None, bool]:
        """Count and log a failed attempt. Returns its attempt row (None: no transaction was
        sent) and whether the order fails now (a non-retryable error, or its last attempt:
        `failure_reason` is then set)."""
        self.tally.inc(child(engine_attempts_total, e.reason))
        failed = (order.attempts, e.tx_hash, "failed", e.reason) if e.tx_hash else None
        log.info(
            "order %s attempt %d failed: %s",
            order.id,
            order.attempts,
            e.reason,
            extra={"order_id": order.id},
        )
        if e.reason in NON_RETRYABLE or tries >= self._settings.max_attempts:
            order.failure_reason = e.reason
            return failed, True
        return failed, False

    async def _attempt(self, order: LiveOrder) -> None:
        await self._chain.quote_delay()
        plan = self.route(order)
        tx, submitted = self.submit(order, plan)
        if plan.route is not None and not self._chain.instant_swap:
            # The transaction is recorded (attempts, 'submitted') before it is sent. With
            # no swap latency it lands in the commit that stores it, or after: never before.
            await submitted
        if plan.route is not None:
            await self._chain.swap_delay()
        self.land(order, plan, tx)

    def route(self, order: LiveOrder) -> Plan:
        """The attempt's plan on the market as it is now (raises when there is none)."""
        if not self._state.launched(order.symbol):
            raise AttemptFailed("pool_not_open")
        plan = executable(order, self.plan(order))
        self.log_route(order, plan)
        return plan

    @staticmethod
    def log_route(order: LiveOrder, plan: Plan) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        log.info(
            "route order=%s %s %s %s legs=%s quote=%s",
            order.id,
            order.symbol,
            order.side,
            plan.json.get("amount"),
            "+".join(leg["venue"] for leg in plan.json["legs"]),
            plan.json["quoteAmount"],
            extra={"order_id": order.id},
        )

    def submit(
        self, order: LiveOrder, plan: Plan, tx: ChainTx | None = None
    ) -> tuple[ChainTx, asyncio.Future[Position]]:
        """`building` then `submitted` queued: the transaction (`tx`, or sent now) and the
        future of its record."""
        self._writer.queue(order, "building", route=plan.json, extra={"route": plan.json})
        if tx is None:
            tx = self._chain.send(tx_signature(order.id, order.attempts))
        submitted = self._writer.transition(
            order,
            "submitted",
            attempt=(order.attempts, tx.signature, "submitted", None),
            extra={"pendingTx": tx.signature},
            chain=tx,
        )
        return tx, submitted

    def land(self, order: LiveOrder, plan: Plan, tx: ChainTx) -> None:
        """The chain's answer for a sent transaction: a network error, an expired
        blockhash, or the landing."""
        if plan.route is not None:
            error = self._chain.landing_error()
            if error:
                raise AttemptFailed(error, tx.signature)
            if self._chain.expired(tx):
                raise AttemptFailed("blockhash_expired", tx.signature)
        self.settle(order, plan, tx)

    def plan(self, order: LiveOrder, limit: int | None = None) -> Plan | None:
        symbol = order.symbol
        book = self._state.books[symbol]
        return plan_order(
            order,
            self._state.pools(symbol),
            book,
            # read by the planner only to bound the makers it may match (an empty book: none)
            self._state.quotes(symbol) if len(book) else NO_QUOTES,
            self._state.client(order.client_id),
            limit,
        )

    def settle(self, order: LiveOrder, plan: Plan, sent: ChainTx) -> None:
        """Apply the plan to the pools and the book as they are now, or refuse it.
        Synchronous up to the queued `confirmed` change: no other order moves this market
        in between, and the pool snapshot written with it includes exactly these fills (and
        the transaction's landing in the ledger)."""
        trial: dict[str, Any] | None = None
        actual: Route | None = None
        if plan.route is not None:
            trial, actual = swap_on_copies(
                order, plan, self._state.pools(order.symbol), sent.signature
            )
        self.confirm(order, plan, sent, actual, trial)

    def confirm(
        self,
        order: LiveOrder,
        plan: Plan,
        sent: ChainTx,
        actual: Route | None,
        trial: dict[str, Any] | None = None,
    ) -> None:
        """The landing of a plan whose route (if any) ran as `actual`: on `trial`, the
        market's pools after it (None: the pools themselves already moved). The plan's
        makers are matched as the book has them now, and `confirmed` is queued."""
        tx = sent.signature
        symbol = order.symbol
        decimals = order.market.base.decimals
        fills: list[Fill] = []
        book = self._state.books[symbol]
        makers: list[tuple[int, int, int]] = []
        if plan.internal:
            # Makers canceled or filled since routing are simply not matched any more.
            price = internal_price(order, plan)
            makers = book.match(
                order.side, price, plan.internal_qty, self._state.client(order.client_id)
            )
        if trial is not None:
            self._state.replace(symbol, trial)
        for _handle, price, qty in makers:
            quote = quote_of(qty, price, decimals)
            fills.append(Fill("internal", qty, quote, 0, tx))
            order.filled += qty
            order.quote_amount += quote
        if actual is not None:
            for leg in actual.legs:
                fills.append(Fill(leg.venue, leg.amount, leg.quote, leg.fee, tx))
            order.filled += actual.amount
            order.quote_amount += actual.quote_amount
            order.fees += actual.fees
        if not fills:
            raise AttemptFailed("not_landed", tx)  # every maker went away meanwhile
        order.tx_hash = tx
        self._writer.queue(
            order,
            "confirmed",
            fills=fills,
            attempt=(order.attempts, tx, "landed", None),
            pools=(symbol,) if actual is not None else (),
            chain=sent.landing(),
        )
        for handle, price, qty in makers:
            self._fill_maker(handle, price, qty, tx)
        if actual is not None:
            self.trigger(symbol)

    def _fill_maker(self, handle: int, price: int, qty: int, tx: str) -> None:
        maker = self._state.resting[handle]
        quote = quote_of(qty, price, maker.market.base.decimals)
        maker.filled += qty
        maker.quote_amount += quote
        done = maker.remaining == 0
        if done:
            self._state.unrest(maker)
        self.outcomes.final(
            maker,
            "filled" if done else "partially_filled",
            fills=[Fill("internal", qty, quote, 0, tx)],
        )
