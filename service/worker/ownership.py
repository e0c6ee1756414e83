"""What taking, giving up and losing a shard mean for one worker process.

Taking (a lease just acquired, service/worker/leases.py): advance the shard's epoch in
PostgreSQL first (from then on an earlier owner's transactions are refused), then load its
markets as PostgreSQL has them (pools, books of resting orders, orders caught mid-way), then
read its stream, first adopting every entry an earlier owner left unacknowledged.

Giving up (rebalancing, stopping): stop reading, let the executions of its orders finish and
their changes be stored, then forget the markets and release the lease (marked clean).

Losing (the lease expired and was taken, or PostgreSQL refused our epoch): forget the
markets at once, executions stopped where they are and their queued changes dropped, nothing
published; the new owner carries on from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from service.domain.markets import shard_of
from service.store import fencing
from service.store.worker import load_worker_state

if TYPE_CHECKING:
    from service.worker.worker import Worker

log = logging.getLogger(__name__)

GIVE_UP_WAIT_S = 15.0  # executions of a shard given up may take this long to finish


class Ownership:
    def __init__(self, worker: Worker) -> None:
        self._w = worker
        self.active: set[int] = set()  # taken and not (being) given up
        self._leaving: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- queries (the writer's Ownership protocol) --
    def shard(self, symbol: str) -> int:
        return shard_of(symbol, self._w.settings.shards)

    def symbols(self) -> list[str]:
        return [m for m in self._w.markets if self.shard(m) in self.active]

    def symbols_of(self, shard: int) -> set[str]:
        return {m for m in self._w.markets if self.shard(m) == shard}

    async def fence(self, shards: set[int]) -> tuple[list[int], list[int]]:
        leases = self._w.leases
        out: tuple[list[int], list[int]] = ([], [])
        for shard in sorted(shards):
            if shard not in leases.held:
                continue
            if not leases.valid(shard) and not await leases.renew(shard):
                # Not renewed for longer than the lease lasts (a pause, a partition) and
                # taken meanwhile: do not even try to write.
                log.error("shard %d: lease lost while paused", shard)
                leases.forget(shard)
                self.lost([shard])
                continue
            out[0].append(shard)
            out[1].append(leases.held[shard].epoch)
        return out

    def pool_version(self, symbol: str, venue: str) -> int | None:
        return self._w.state.versions.get((symbol, venue))

    def pools_stored(self, rows: list[tuple[str, str]]) -> None:
        self._w.state.stored(rows)

    # -- commands --
    async def take(self, shard: int, epoch: int, clean: bool) -> int | None:
        """None once the shard is ours; else PostgreSQL's epoch (ours is behind it)."""
        w = self._w
        s = w.settings
        current = await fencing.advance(s.database_url, shard, epoch, w.leases.owner)
        if current is not None:
            return current
        symbols = sorted(self.symbols_of(shard))
        try:
            pools, versions, refs, live = await asyncio.to_thread(
                load_worker_state, s.database_url, w.markets, symbols, list(w.live_statuses)
            )
            w.state.add(pools, refs, versions)
            self.active.add(shard)
            w.recovery.recover(live, symbols)
            await w.intake.add(shard, epoch)
        except BaseException:
            # PostgreSQL or Redis failed half-way: nothing of the shard kept (the balancer
            # gives the lease back; the next round tries again).
            self.active.discard(shard)
            w.intake.remove(shard)
            self._forget(set(symbols))
            raise
        if not clean:
            # The last owner did not stop cleanly: some events it committed may never
            # have been published.
            w.roster.background(w.recovery.reannounce(symbols=symbols))
        log.info("shard %d taken (epoch %d): %s", shard, epoch, ", ".join(symbols))
        return None

    async def give_up(self, shard: int) -> bool:
        """Start giving the shard up (in the background); False if already doing so."""
        if shard in self._leaving or shard not in self.active:
            return False
        self._leaving.add(shard)
        self.active.discard(shard)
        self._w.intake.remove(shard)
        task = asyncio.create_task(self._leave(shard))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _leave(self, shard: int) -> None:
        w = self._w
        symbols = self.symbols_of(shard)
        clean = True
        try:
            async with asyncio.timeout(GIVE_UP_WAIT_S):
                while w.roster.busy(symbols):
                    await asyncio.sleep(0.02)
                await w.writer.flushed(symbols)
        except TimeoutError:
            clean = False
            log.warning("shard %d: executions still running when given up", shard)
        self._forget(symbols)
        self._leaving.discard(shard)
        await w.leases.release(shard, clean)
        log.info("shard %d given up", shard)

    def lost(self, shards: Iterable[int]) -> None:
        for shard in shards:
            if shard not in self.active and shard not in self._leaving:
                continue
            log.error("shard %d lost: its markets are dropped from this worker", shard)
            self.active.discard(shard)
            self._leaving.discard(shard)
            self._w.intake.remove(shard)
            self._forget(self.symbols_of(shard))
            held = self._w.leases.held.pop(shard, None)
            if held is not None:  # refused by PostgreSQL: free it for the next owner now
                task = asyncio.create_task(self._release(shard, held.epoch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _release(self, shard: int, epoch: int) -> None:
        try:
            await self._w.leases.release_epoch(shard, epoch, clean=False)
        except Exception as e:  # noqa: BLE001 - it expires by itself
            log.warning("shard %d: lease not released (%s)", shard, e)

    def _forget(self, symbols: set[str]) -> None:
        w = self._w
        w.roster.drop(symbols)
        w.writer.drop(symbols)
        w.state.drop(symbols)
        w.sim.forget(symbols)
