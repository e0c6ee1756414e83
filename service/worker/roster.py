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
        self._by_order: dict[str, asyncio.Task[None]] = {}

    def bind(self, run: Callable[[LiveOrder], Awaitable[None]]) -> None:
        """What executes an order (the Executor's run), known once it is built."""
        self._run = run

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
        self.known[order.id] = order
        self.finished.pop(order.id, None)
        self.inflight[order.id] = order
        task = asyncio.create_task(self._execute(order))
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
        for oid in [oid for oid, o in self.known.items() if o.symbol in symbols]:
            del self.known[oid]
            self.inflight.pop(oid, None)
            task = self._by_order.pop(oid, None)
            if task is not None:
                task.cancel()
        order_queue_size.set(len(self.inflight))

    async def _execute(self, order: LiveOrder) -> None:
        assert self._run is not None
        try:
            async with self._sem:
                if self._stop.is_set() and order.status in fsm.CANCELLABLE:
                    # Stopping: not started, handed back. A pending order's entry stays
                    # unacknowledged; a resting one is in the book again at the next start.
                    return
                await self._run(order)
        except Exception:
            # Left unacknowledged: XAUTOCLAIM reads it again from what PostgreSQL holds (or
            # a restart recovers it).
            log.exception("order %s: execution crashed", order.id, extra={"order_id": order.id})
            self.known.pop(order.id, None)
        finally:
            self.inflight.pop(order.id, None)
            order_queue_size.set(len(self.inflight))
            self.room.set()
