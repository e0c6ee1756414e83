"""One worker process: the single owner of its shards' streams and markets.

It composes the parts, each in its own module: `intake` (streams in: read, claim,
acknowledge), `housekeeping` (the sweeper, stream retention), `commands` (cancel and the
simulator's commands), `recovery` (books rebuilt and events re-published after a start),
`executor` (an order's attempts), `writer` (the group commit to PostgreSQL, then pub/sub),
`market_state` (books and pools in memory) and `roster` (the orders held). Commands for a
market come through the same stream as its orders, so everything that changes a market
happens here, in order, with no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from engine_core import fsm
from service.config import Settings
from service.domain.markets import Market, load_markets
from service.simulator.chain import MockChain
from service.simulator.market import Simulator
from service.store.chain import ChainLedger
from service.store.redis_client import async_client
from service.store.worker import WorkerStore
from service.worker.attempt_pacer import RateLimiter
from service.worker.batch_executor import BatchExecutor
from service.worker.commands import Commands
from service.worker.dead_letter import DeadLetters
from service.worker.executor import Executor
from service.worker.housekeeping import Housekeeping
from service.worker.in_doubt import InDoubt
from service.worker.intake import Intake
from service.worker.leases import Balancer, Leases, process_owner_id
from service.worker.market_state import MarketState
from service.worker.ownership import Ownership
from service.worker.recovery import REANNOUNCE_AFTER_OUTAGE_S, Recovery
from service.worker.roster import Roster
from service.worker.writer import EventWriter

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 2.0
CLAIM_EVERY_S = 5.0
TRIM_EVERY_S = 5.0
EXPIRE_EVERY_S = 0.25
STOP_TASKS_S = 45.0  # at SIGTERM: how long orders in flight may take to finish
STOP_WRITER_S = 10.0  # then how long the writer may take to store what they queued
FAIL_WAIT_S = 2.0  # after a fatal error: how long the tasks may take to end


def waiting_in(task: asyncio.Task[Any]) -> str:
    """Where a task is suspended: the chain of coroutines it awaits, outermost first."""
    coro: Any = task.get_coro()
    chain = []
    while coro is not None and getattr(coro, "cr_frame", None) is not None:
        f = coro.cr_frame
        chain.append(f"{f.f_code.co_qualname}:{f.f_lineno}")
        coro = coro.cr_await
    return " > ".join(chain) or task.get_name()


def owned_shards(settings: Settings, index: int, count: int) -> list[int]:
    return [s for s in range(settings.shards) if s % count == index]


class Worker:
    """`Worker(settings, index, count)`: static mode, the leases of `shard % count == index`
    only. `Worker(settings, slot=n)`: a member of the pool, which balances the shards
    between its live members (service/worker/leases.py)."""

    live_statuses = sorted(fsm.LIVE)

    def __init__(
        self,
        settings: Settings,
        index: int | None = None,
        count: int | None = None,
        *,
        slot: int = 0,
    ) -> None:
        self.settings = settings
        self.index = slot if index is None else index
        self.static = None if index is None else owned_shards(settings, index, count or 1)
        self.name = f"worker {self.index}" if index is not None else f"pool worker {slot}"
        self.markets: dict[str, Market] = load_markets(settings.markets_file)
        self._stop = asyncio.Event()
        self.roster = Roster(settings.queue_concurrency, self._stop)
        self.store = WorkerStore(settings.database_url)
        self.ownership = Ownership(self)

    @property
    def shards(self) -> list[int]:
        return sorted(self.ownership.active)

    @property
    def symbols(self) -> list[str]:
        return self.ownership.symbols()

    # -- lifecycle --
    async def run(self) -> None:
        s = self.settings
        self.state = MarketState(self.markets)
        redis = async_client(s.redis_url, s.redis_cluster)
        self.leases = Leases(s, redis, process_owner_id())
        self.writer = EventWriter(
            s.database_url,
            redis,
            s.events_channel,
            s.group,
            self.state.states,
            lambda sym: (self.state.reference[sym], self.state.launched(sym)),
            self.ownership,
        )
        limiter = RateLimiter(
            redis,
            s.tagged_key("ratelimit", "queue"),
            s.queue_rate_limit_max,
            s.queue_rate_limit_duration_ms,
            self.leases.owner,
        )
        ledger = ChainLedger(s.database_url)
        chain = MockChain(s, s.sim_seed * 1000 + self.index, ledger)
        in_doubt = InDoubt(self.name, chain, self.roster, self.ownership.symbols, self._stop)
        self.executor = Executor(
            s, self.writer, chain, limiter, self.state, self.roster.spawn, in_doubt
        )
        self.passes = BatchExecutor(
            self.executor,
            self.writer,
            chain,
            self.state,
            self.roster,
            lambda symbol: self.ownership.lost([self.ownership.shard(symbol)]),
        )
        self.roster.bind(self.executor.run, self.passes.ready, self.passes.run)
        self.sim = Simulator(s, self.state)
        self.recovery = Recovery(
            self.name,
            self.markets,
            self.ownership.symbols,
            s.events_channel,
            redis,
            self.store,
            self.roster,
            self.state,
            self.executor,
            self.writer,
            in_doubt,
            self._stop,
        )
        self.roster.on_crash = lambda order: self.roster.background(self.recovery.readopt(order))
        commands = Commands(
            self.markets,
            redis,
            self.store,
            self.roster,
            self.state,
            self.executor,
            self.passes,
            self.writer,
            self.sim,
        )
        self.dead = DeadLetters(
            self.name,
            s,
            {s.stream_key(shard): shard for shard in range(s.shards)},
            redis,
            self.writer,
            self.markets,
        )
        self.intake = Intake(
            self.name,
            s,
            self.markets,
            redis,
            self.store,
            self.roster,
            self.state,
            commands,
            self.dead,
            lambda: self.roster.background(self.recovery.reannounce(REANNOUNCE_AFTER_OUTAGE_S)),
            self._stop,
        )
        self.housekeeping = Housekeeping(self.name, s, redis, self.store, self.roster, self.intake)
        own = self.ownership
        balancer = Balancer(
            self.leases, s.shards, own.take, own.give_up, own.lost, self.static, self._stop
        )
        leases_stop = asyncio.Event()
        log.info("%s (%s) starting; lease ttl %d ms", self.name, self.leases.owner, s.lease_ttl_ms)
        writer_task = asyncio.create_task(self.writer.run())
        balancer_task = asyncio.create_task(balancer.run(leases_stop))
        loops = [
            asyncio.create_task(self._periodic(self.housekeeping.sweep_once, SWEEP_EVERY_S)),
            asyncio.create_task(self._periodic(self.intake.claim_once, CLAIM_EVERY_S)),
            asyncio.create_task(self._periodic(self.housekeeping.trim_once, TRIM_EVERY_S)),
            asyncio.create_task(self._periodic(self._expire_once, EXPIRE_EVERY_S)),
            asyncio.create_task(self.intake.failed.wait()),
        ]
        if s.sim_enabled and s.sim_tick_ms > 0:
            loops.append(asyncio.create_task(self._periodic(self._tick_once, s.sim_tick_ms / 1000)))
        stop_task = asyncio.create_task(self._stop.wait())
        await asyncio.wait(
            [stop_task, writer_task, balancer_task, *loops], return_when=asyncio.FIRST_COMPLETED
        )
        if not self._stop.is_set():
            # A loop or the writer died: fail loudly and at once, the supervisor restarts this
            # worker and nothing unacknowledged is lost (its leases expire; PostgreSQL fences
            # it off meanwhile). A command being applied when it happened is dead-lettered
            # first, so the next start does not die on it again.
            failed = next(t for t in (writer_task, balancer_task, *loops) if t.done())
            error = failed.exception() if not failed.cancelled() else None
            if self.intake.error is not None:
                error = self.intake.error
            self._stop.set()
            leases_stop.set()
            await self._fail(
                error, [writer_task, balancer_task, *loops, stop_task, *self.roster.tasks]
            )
            raise RuntimeError(f"{self.name} failed: {error!r}") from error
        stop_task.cancel()
        # Stop taking orders; those in flight finish, those not started yet are handed back
        # (their stream entries stay unacknowledged, for the shard's next owner). The
        # leases are renewed until the last commit, then given back.
        for t in loops:
            t.cancel()
        for shard in self.shards:
            self.intake.remove(shard)
        await asyncio.gather(*loops, return_exceptions=True)
        late: set[asyncio.Task[None]] = set()
        if self.roster.tasks:
            n = len(self.roster.tasks)
            log.info("%s finishing %d orders in flight", self.name, n)
            _, late = await asyncio.wait(self.roster.tasks, timeout=STOP_TASKS_S)
            if late:
                # Left as PostgreSQL has them (each step is one commit): the next owner
                # recovers them.
                log.warning(
                    "%s: %d orders still in flight at exit, waiting in %s",
                    self.name,
                    len(late),
                    "; ".join(sorted(waiting_in(t) for t in late)),
                )
        self.writer.stop()
        clean = False
        try:
            await asyncio.wait_for(writer_task, STOP_WRITER_S)
            clean = not late and self.writer.healthy
        except TimeoutError:
            log.error("%s: PostgreSQL unreachable, unstored changes dropped", self.name)
        leases_stop.set()
        await asyncio.gather(balancer_task, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await balancer.leave(clean)
        await redis.aclose()
        await self.store.close()
        await ledger.close()

    def stop(self) -> None:
        self._stop.set()

    async def _fail(self, error: BaseException | None, tasks: list[asyncio.Task[Any]]) -> None:
        """The fatal path: the entry being applied is buried, every task is cancelled, and
        none is waited for longer than FAIL_WAIT_S (some clients swallow a cancellation)."""
        log.critical("%s failed: %r", self.name, error, exc_info=error)
        applying = self.intake.applying
        if applying is not None:
            stream, entry_id, fields = applying
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.dead.bury(
                        stream,
                        entry_id,
                        fields,
                        f"worker failed applying it: {error!r}",
                        1,
                        "fatal",
                        answer=True,
                    ),
                    FAIL_WAIT_S,
                )
        for t in tasks:
            t.cancel()
        await asyncio.wait(tasks, timeout=FAIL_WAIT_S)

    # -- housekeeping --
    async def _periodic(self, step: Callable[[], Awaitable[object]], every_s: float) -> None:
        while not self._stop.is_set():
            try:
                await step()
            except Exception as e:  # noqa: BLE001 - a dependency down: try again next round
                log.warning("%s %s failed: %s", self.name, step.__name__, e)
            await asyncio.sleep(every_s)

    async def _tick_once(self) -> None:
        moved = [s for s in self.symbols if self.sim.tick(s)]
        for symbol in moved:
            self.writer.touch(symbol)
            self.executor.trigger(symbol)

    async def _expire_once(self) -> None:
        """GTD orders past their expiresAt leave the book `expired`."""
        for order in self.state.expired(time.time()):
            await self.executor.outcomes.expire(order)
