"""Attempts in doubt: orders a worker finds `submitted` that it did not submit (a shard taken
over from a dead or stopped owner, an execution that crashed mid-attempt).

Their transaction was sent and may still land: the new owner asks the chain before anything
else (MockChain.signature_statuses, one lookup for all the orders recovered at once):

- expired (past its deadline, or never sent): it can never land. The attempt is closed
  `not_landed` and the order retried as any failed attempt (Executor._execute).
- still valid: it may land. The order is held, never submitted again, and the chain asked
  again once the deadline has passed (each wait bounded by the blockhash validity).
- landed: cannot happen while the order is `submitted`. The landing is stored in the
  transaction that stores `confirmed`, its fills and the pools, and a new owner advances
  the shard's epoch before it loads the orders, so an old owner's landing either committed
  before (and the order was loaded `confirmed`) or is refused. Seen all the same (a ledger
  written by hand, a real chain), the order follows the ledger: it is never submitted again.
  Its fills are on the chain, not in `fills` or the pools, and inventing them would break
  pools == fills, so it stays `submitted`, held here and never executed, and an error is
  logged for an operator to reconcile.

While held, an order is known to this worker (its stream entries stay unacknowledged, a
cancel answers that it is `submitted`) but not in flight: it takes no execution slot, and
giving its shard up does not wait for it (the next owner asks again). Giving the shard up,
losing it or stopping the worker ends the wait.

Deadlines are the sending host's wall clock, compared with the asking host's: a skew
between hosts shortens or lengthens the wait by as much. With this mock that cannot cause a
double execution (the old owner, fenced off in PostgreSQL, can no longer store a landing);
against a real chain, compare block heights instead (lastValidBlockHeight).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import psycopg

from service.domain.order import LiveOrder
from service.metrics import child, engine_attempts_total
from service.simulator.chain import MockChain, tx_signature
from service.worker.roster import Roster

log = logging.getLogger(__name__)

TICK_S = 0.25  # while waiting: how often the wait checks that the orders are still ours
MARGIN_S = 0.05  # asked again this long after a deadline
RETRY_S = 1.0  # after a failed lookup


class InDoubt:
    def __init__(
        self,
        name: str,
        chain: MockChain,
        roster: Roster,
        symbols: Callable[[], list[str]],
        stop: asyncio.Event,
    ) -> None:
        self._name = name
        self._chain = chain
        self._roster = roster
        self._symbols = symbols
        self._stop = stop
        self._released: set[str] = set()  # orders whose attempt the chain said expired

    def release(self, order_id: str) -> bool:
        """True once for an order settled here as expired: its execution closes the attempt
        `not_landed` (and retries) without asking again."""
        if order_id in self._released:
            self._released.discard(order_id)
            return True
        return False

    def settle(self, orders: list[LiveOrder]) -> None:
        """Hold these `submitted` orders until the chain says their attempt expired, then
        execute them (one lookup for them all, and one again per deadline passed)."""
        if not orders:
            return
        for order in orders:
            self._roster.known[order.id] = order
        self._roster.background(self._settle(orders))

    async def _settle(self, orders: list[LiveOrder]) -> None:
        waiting = {tx_signature(o.id, o.attempts): o for o in orders}
        log.info("%s: %d attempts in doubt, asking the chain", self._name, len(waiting))
        wait = 0.0
        while waiting:
            if wait and not await self._pause(wait, waiting):
                return
            self._keep_ours(waiting)
            if not waiting or self._stop.is_set():
                return
            try:
                statuses = await self._chain.signature_statuses(list(waiting))
            except (OSError, psycopg.Error) as e:
                log.warning("%s: signature statuses failed (%s); asking again", self._name, e)
                wait = RETRY_S
                continue
            self._keep_ours(waiting)  # the shard may have moved while we asked
            now = time.time()
            deadline: float | None = None
            for sig, status in statuses.items():
                order = waiting.get(sig)
                if order is None:
                    continue
                if status.state == "expired":
                    del waiting[sig]
                    self._released.add(order.id)
                    self._roster.spawn(order)
                elif status.state == "landed":
                    del waiting[sig]
                    child(engine_attempts_total, "landed_unrecorded").inc()
                    log.error(
                        "order %s: attempt %d landed (slot %s) but the order is still"
                        " submitted; held, never submitted again: reconcile it by hand",
                        order.id,
                        order.attempts,
                        status.slot,
                        extra={"order_id": order.id},
                    )
                else:
                    until = status.valid_until if status.valid_until is not None else now
                    deadline = until if deadline is None else min(deadline, until)
            if deadline is not None:
                wait = min(max(deadline - now, 0.0) + MARGIN_S, self._chain.validity_s)
                log.info(
                    "%s: %d attempts may still land; asking again in %.2fs",
                    self._name,
                    len(waiting),
                    wait,
                )

    async def _pause(self, seconds: float, waiting: dict[str, LiveOrder]) -> bool:
        """Sleep this long, in ticks; False as soon as stopping or nothing left to wait for."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(self._stop.wait(), min(left, TICK_S))
                return False
            except TimeoutError:
                pass
            self._keep_ours(waiting)
            if not waiting:
                return False
        return True

    def _keep_ours(self, waiting: dict[str, LiveOrder]) -> None:
        """Forget the orders of shards no longer ours (their next owner asks again)."""
        mine = set(self._symbols())
        for sig, order in list(waiting.items()):
            if order.symbol not in mine or self._roster.known.get(order.id) is not order:
                del waiting[sig]
