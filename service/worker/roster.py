"""The orders this worker process holds, and the tasks that execute them.

An order taken here is in `known` with the status last queued for it, ahead of what
PostgreSQL may say; while an execution runs it is also in `inflight`. Final orders move to the
bounded `finished` list of ids, which answers duplicate stream entries of orders ended here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from engine_core import fsm
from service.domain.order import LiveOrder
from service.metrics import order_queue_size

log = logging.getLogger(__name__)

FINISHED_KEPT = 100_000  # orders this process ended, kept to answer duplicate entries


class Roster:
    def __init__(self, concurrency: int, stop: asyncio.Event) -> None:
        self.inflight: dict[str, LiveOrder] = {}  # executing (or waiting for a slot)
        self.known: dict[str, LiveOrder] = {}
        self.finished: OrderedDict[str, str] = OrderedDict()  # id -> final status
        self.tasks: set[asyncio.Task[None]] = set()
        self.room = asyncio.Event()  # set when an execution ends (intake waits for room)
        self._stop = stop
        self._sem = asyncio.Semaphore(concurrency)
        self._run: Callable[[LiveOrder], Awaitable[None]] | None = None
        self._ready: Callable[[LiveOrder], bool] = lambda _order: False
        self._run_pass: Callable[[list[LiveOrder]], Coroutine[Any, Any, None]] | None = None
        self._by_order: dict[str, asyncio.Task[None]] = {}
        # told of an order whose execution crashed (the Recovery's readopt)
        self.on_crash: Callable[[LiveOrder], None] = lambda _order: None

    def bind(
        self,
        run: Callable[[LiveOrder], Awaitable[None]],
        ready: Callable[[LiveOrder], bool] | None = None,
        run_pass: Callable[[list[LiveOrder]], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        """What executes an order (the Executor's run), known once it is built; and what
        executes many ready ones in one pass (the BatchExecutor's), with its test."""
        self._run = run
        if ready is not None and run_pass is not None:
            self._ready, self._run_pass = ready, run_pass

    def taken_status(self, oid: str) -> str | None:
        """The status of an order this process has taken (None: never taken here)."""
        order = self.known.get(oid)
        if order is not None:
            return order.status
        return self.finished.get(oid)

    def forget_finished(self) -> None:
        """Final orders leave `known` for the bounded `finished` list of ids."""
        for oid in [oid for oid, o in self.known.items() if fsm.is_terminal(o.status)]:
            self.finished[oid] = self.known.pop(oid).status
        while len(self.finished) > FINISHED_KEPT:
            self.finished.popitem(last=False)

    def background(self, coro: Coroutine[Any, Any, None]) -> None:
        """A task the stop waits for, like an execution."""
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def spawn(self, order: LiveOrder) -> None:
        """Execute the order in a task of its own."""
        self._take(order)
        self.run_alone(order)

    def spawn_many(self, orders: list[LiveOrder]) -> None:
        """Execute these orders (in this order): the ready ones in one pass, the others
        each in a task of its own."""
        ready: list[LiveOrder] = []
        alone: list[LiveOrder] = []
        for order in orders:
            self._take(order)
            (ready if self._ready(order) else alone).append(order)
        if ready and self._run_pass is not None:
            self.background(self._run_pass(ready))
        for order in alone:
            self.run_alone(order)

    def _take(self, order: LiveOrder) -> None:
        self.known[order.id] = order
        self.finished.pop(order.id, None)
        self.inflight[order.id] = order

    def run_alone(self, order: LiveOrder) -> None:
        """A task executing an order the roster holds (from where it is)."""
        assert self._run is not None
        self.continue_with(order, self._run(order))

    def continue_with(self, order: LiveOrder, execution: Awaitable[None]) -> None:
        """A task that carries on the order's execution with `execution`, in its turn
        among the executions running (the semaphore)."""
        task = asyncio.create_task(self._execute(order, execution))
        self.tasks.add(task)
        self._by_order[order.id] = task
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(functools.partial(self._ran, order.id))

    def _ran(self, oid: str, task: asyncio.Task[None]) -> None:
        if self._by_order.get(oid) is task:
            del self._by_order[oid]

    def busy(self, symbols: set[str]) -> bool:
        """An execution of an order of these markets is running."""
        return any(o.symbol in symbols for o in self.inflight.values())

    def drop(self, symbols: set[str]) -> None:
        """Forget the orders of these markets and stop their executions where they are (not
        ours any more: what they did is in PostgreSQL up to their last commit)."""
        # `inflight` too: an order whose final change is queued has left `known` already
        # (forget_finished) while its execution still waits for that change to be stored.
        held = {**self.inflight, **self.known}
        for oid in [oid for oid, o in held.items() if o.symbol in symbols]:
            self.known.pop(oid, None)
            self.inflight.pop(oid, None)
            task = self._by_order.pop(oid, None)
            if task is not None:
                task.cancel()
        order_queue_size.set(len(self.inflight))

    async def _execute(self, order: LiveOrder, execution: Awaitable[None]) -> None:
        try:
            async with self._sem:
                if self._stop.is_set() and order.status in fsm.CANCELLABLE:
                    # Stopping: not started, handed back. A pending order's entry stays
                    # unacknowledged; a resting one is in the book again at the next start.
                    if isinstance(execution, Coroutine):
                        execution.close()
                    return
                await execution
        except Exception:
            self._crashed(order)
        finally:
            self.ended(order.id)

    def crashed(self, order: LiveOrder) -> None:
        """An execution outside a task (a pass) crashed: as a task's crash."""
        self._crashed(order)
        self.ended(order.id)

    def _crashed(self, order: LiveOrder) -> None:
        # Left unacknowledged: XAUTOCLAIM reads it again from what PostgreSQL holds (or
        # a restart recovers it).
        log.exception("order %s: execution crashed", order.id, extra={"order_id": order.id})
        self.known.pop(order.id, None)
        self.on_crash(order)

    def ends_with(self, oid: str, last: asyncio.Future[Any]) -> None:
        """The order's execution here is over once `last` (its last change) is stored."""
        last.add_done_callback(lambda _: self.ended(oid))

    def ended(self, oid: str) -> None:
        """The order's execution here is over (it rests, or its final change is stored)."""
        self.inflight.pop(oid, None)
        order_queue_size.set(len(self.inflight))
        self.room.set()
