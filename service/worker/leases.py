"""Shard leases in Redis: which worker process owns which shard, and with what epoch.

A shard's lease is one key, `{prefix}:lease:{N}` = "owner epoch", with a TTL; the epoch comes
from the shard's own counter `{prefix}:lease:{N}:epoch`, which only rises (INCR). Every key of
a shard shares its hash tag `{N}` (the tag of its stream), and each script declares every key
it touches, so the same scripts run on a Redis Cluster. The epoch is the fencing token
PostgreSQL checks on every writer transaction (service/store/fencing.py): Redis says who
should own a shard, PostgreSQL refuses anyone else.

Pool mode (`order-engine worker` without `--index`, every worker of `up`): live workers
heartbeat in `{prefix}:lease:members`; each takes free shards up to its share (members
sorted by id, the first `shards % n` get one more), its own first (every n-th shard from
its rank) and another's once it has been free for a few rounds; gives back what is over
its share, others' first, while another member is under its own; and takes a free shard
beyond its share once it has been free for a few rounds (a member that cannot take its
share). Static mode (`--index/--count`) takes the leases of `shard % count == index` and
nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.config import Settings
from service.metrics import (
    child,
    engine_shard_epoch,
    engine_shard_lease_renew_age_seconds,
    engine_shard_owned,
)

log = logging.getLogger(__name__)

# KEYS: lease, epoch counter, clean flag. ARGV: owner, ttl ms, epoch floor.
# Returns {epoch, clean} when taken, {0, current value} when held by someone.
_ACQUIRE = """
local cur = redis.call('GET', KEYS[1])
if cur then return {0, cur} end
local e = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if e <= floor then
  e = floor + 1
  redis.call('SET', KEYS[2], e)
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. e, 'PX', ARGV[2])
local clean = redis.call('GET', KEYS[3])
redis.call('DEL', KEYS[3])
if clean then return {e, 1} end
return {e, 0}
"""
# KEYS: lease. ARGV: "owner epoch", ttl ms. 1 renewed, 0 not ours any more.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
# KEYS: lease, clean flag. ARGV: "owner epoch", clean (0/1).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if ARGV[2] == '1' then redis.call('SET', KEYS[2], '1', 'EX', 86400) end
  return 1
end
return 0
"""
# KEYS: members. ARGV: member id, ttl ms (0: leave). The live members, sorted.
_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if tonumber(ARGV[2]) > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(ids)
return ids
"""

FREE_ROUNDS_BEFORE_EXTRA = 3  # a free shard beyond our share: taken after this many rounds


def process_owner_id() -> str:
    """Host, pid and a random part: unique per process even across pid reuse."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def share(members: list[str], me: str, shards: int) -> int:
    """How many shards `me` should own among the sorted live members."""
    if me not in members:
        members = sorted([*members, me])
    n = len(members)
    return shards // n + (1 if members.index(me) < shards % n else 0)


def preferred(members: list[str], me: str, shards: int) -> set[int]:
    """The shards `me` takes first: every n-th from its rank among the sorted live members
    (as many as its share). Members starting together then take disjoint shards instead of
    racing for the same ones, and neighbouring shards (hence markets) spread over members."""
    if me not in members:
        members = sorted([*members, me])
    n = len(members)
    rank = members.index(me)
    return {s for s in range(shards) if s % n == rank}


@dataclass
class Held:
    epoch: int
    renewed_at: float  # monotonic time the last successful renewal was SENT


class Leases:
    """The Redis side: take, renew, give up leases; the members' heartbeat."""

    def __init__(self, settings: Settings, redis: aioredis.Redis, owner: str) -> None:
        self._s = settings
        self._redis = redis
        self.owner = owner
        self.ttl_ms = settings.lease_ttl_ms
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self.held: dict[int, Held] = {}

    def value(self, shard: int) -> str:
        return f"{self.owner} {self.held[shard].epoch}"

    def valid(self, shard: int) -> bool:
        """Held, and renewed recently enough that no one else can have it yet (local clock,
        with a margin): a process resumed after a long pause is not."""
        h = self.held.get(shard)
        return h is not None and time.monotonic() < h.renewed_at + self.ttl_ms / 1000 * 0.8

    async def acquire(self, shard: int, floor: int = 0) -> tuple[int, bool] | None:
        """(epoch, last owner stopped cleanly) if the shard was free and is ours now."""
        s = self._s
        sent = time.monotonic()
        epoch, clean = await self._acquire(
            keys=[s.lease_key(shard), s.lease_epoch_key(shard), s.lease_clean_key(shard)],
            args=[self.owner, self.ttl_ms, floor],
        )
        if not int(epoch):
            return None
        self.held[shard] = Held(int(epoch), sent)
        return int(epoch), bool(int(clean))

    async def renew(self, shard: int) -> bool:
        """False: the lease is not ours any more (expired and maybe taken, or dropped)."""
        if shard not in self.held:
            return False
        sent = time.monotonic()
        ok = await self._renew(
            keys=[self._s.lease_key(shard)], args=[self.value(shard), self.ttl_ms]
        )
        if ok and shard in self.held:
            self.held[shard].renewed_at = sent
        return bool(ok)

    async def release(self, shard: int, clean: bool) -> None:
        h = self.held.pop(shard, None)
        if h is not None:
            await self.release_epoch(shard, h.epoch, clean)

    async def release_epoch(self, shard: int, epoch: int, clean: bool) -> None:
        """Delete the lease if it is still this epoch's (`clean`: all it stored published)."""
        s = self._s
        await self._release(
            keys=[s.lease_key(shard), s.lease_clean_key(shard)],
            args=[f"{self.owner} {epoch}", "1" if clean else "0"],
        )

    def forget(self, shard: int) -> None:
        self.held.pop(shard, None)

    async def members(self, live: bool = True) -> list[str]:
        got = await self._heartbeat(
            keys=[self._s.key("lease", "members")],
            args=[self.owner, self.ttl_ms if live else 0],
        )
        return [m.decode() if isinstance(m, bytes) else m for m in got]

    async def owners(self) -> dict[int, str | None]:
        """Every shard's current owner id (None: free). One GET per shard (one slot each)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard in range(self._s.shards):
                pipe.get(self._s.lease_key(shard))
            values = await pipe.execute()
        return {
            shard: (v.decode().rsplit(" ", 1)[0] if v else None) for shard, v in enumerate(values)
        }


class Balancer:
    """The loops that keep this process's share of shards: one renews its leases well inside
    the TTL, the other takes free ones and gives back extra ones. They run apart, so a slow
    take (PostgreSQL waiting out a paused owner's lock, a shard's state loading) never holds
    up a renewal, and each take runs on its own, so one slow shard does not hold up the
    others. The worker says what taking and giving up a shard mean (`take` answers
    PostgreSQL's epoch when it refused ours: the Redis counter is behind, after Redis lost
    its data; the lease is given back and taken again with the epoch above PostgreSQL's)."""

    def __init__(
        self,
        leases: Leases,
        shards: int,
        take: Callable[[int, int, bool], Awaitable[int | None]],
        give_up: Callable[[int], Awaitable[bool]],
        lost: Callable[[list[int]], None],
        static: list[int] | None = None,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self._leases = leases
        # set once the worker stops: it renews what it holds until it lets go, takes nothing
        self._stopping = stopping
        self._shards = shards
        self._take = take
        self._give_up = give_up
        self._lost = lost
        self._static = static
        self._free_rounds: dict[int, int] = {}
        self._floors: dict[int, int] = {}
        self._taking: dict[int, asyncio.Task[None]] = {}
        self.round_s = min(1.0, leases.ttl_ms / 1000 / 4)

    async def run(self, stop: asyncio.Event) -> None:
        renewing = asyncio.create_task(self._renew_loop(stop))
        try:
            if self._static is None:
                # Join first and let the members starting with us do the same: each then
                # takes its share, rather than the first taking everything and giving half
                # back.
                with contextlib.suppress(OSError, RedisError):
                    await self._leases.members()
                await self._pause(stop)
            while not stop.is_set():
                try:
                    await self.step()
                except (OSError, RedisError) as e:
                    log.warning("shard leases: Redis unreachable (%s); retrying", e)
                self._observe()
                await self._pause(stop)
        finally:
            for task in [*self._taking.values(), renewing]:
                task.cancel()
            await asyncio.gather(*self._taking.values(), renewing, return_exceptions=True)

    async def _pause(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self.round_s)

    async def _renew_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.renew_all()
            except (OSError, RedisError) as e:
                log.warning("shard leases: not renewed, Redis unreachable (%s)", e)
            await self._pause(stop)

    async def renew_all(self) -> None:
        leases = self._leases
        for shard in list(leases.held):
            held = leases.held.get(shard)
            if held is None:
                continue  # dropped meanwhile (fenced off while an earlier renew ran)
            if not await leases.renew(shard):
                if leases.held.get(shard) is not held:
                    continue  # dropped (or taken again) while this renew ran
                log.warning("shard %d: lease lost (epoch %d)", shard, held.epoch)
                leases.forget(shard)
                self._lost([shard])

    async def step(self) -> None:
        if self._stopping is not None and self._stopping.is_set():
            return  # a shard released now is for a member that stays
        leases = self._leases
        owners = await leases.owners()
        free = [s for s, o in owners.items() if o is None and s not in self._taking]
        for s in range(self._shards):
            self._free_rounds[s] = self._free_rounds.get(s, 0) + 1 if s in free else 0
        if self._static is not None:
            for shard in self._static:
                if shard in free:
                    self._start_take(shard)
            return
        members = await leases.members()
        target = share(members, leases.owner, self._shards)
        mine_first = preferred(members, leases.owner, self._shards)
        # ours first, then the others (the first given back when over our share)
        mine = sorted(set(leases.held) | set(self._taking), key=lambda s: (s not in mine_first, s))
        if len(mine) > target:
            counts = {m: 0 for m in members}
            for o in owners.values():
                if o in counts:
                    counts[o] += 1
            if any(counts[m] < share(members, m, self._shards) for m in members):
                for shard in mine[target:]:
                    if shard in self._taking:
                        continue  # given back, if still extra, once taken
                    log.info("shard %d: given back (share %d of %d)", shard, target, len(mine))
                    await self._give_up(shard)
            return
        for shard in sorted(free, key=lambda s: (s not in mine_first, s)):
            waited = self._free_rounds[shard] >= FREE_ROUNDS_BEFORE_EXTRA
            if not waited and (len(mine) >= target or shard not in mine_first):
                continue  # its member may be about to take it
            self._start_take(shard)
            mine.append(shard)

    def _start_take(self, shard: int) -> None:
        task = asyncio.create_task(self._take_one(shard))
        self._taking[shard] = task
        task.add_done_callback(lambda _: self._taking.pop(shard, None))

    async def _take_one(self, shard: int) -> None:
        try:
            got = await self._leases.acquire(shard, self._floors.get(shard, 0))
        except (OSError, RedisError) as e:
            log.warning("shard %d: lease not acquired (%s)", shard, e)
            return
        if got is None:
            return
        epoch, clean = got
        try:
            current = await self._take(shard, epoch, clean)
        except Exception as e:  # noqa: BLE001 - PostgreSQL or Redis down: next round
            log.warning("shard %d: not taken (%s); lease given back", shard, e)
            with contextlib.suppress(OSError, RedisError):
                await self._leases.release(shard, clean)
            self._leases.forget(shard)
            return
        if current is not None:
            # PostgreSQL has a later epoch than Redis gave: give it back, take it above that.
            log.warning("shard %d: epoch %d below PostgreSQL's %d", shard, epoch, current)
            self._floors[shard] = current
            with contextlib.suppress(OSError, RedisError):
                await self._leases.release(shard, clean)
            self._leases.forget(shard)
            return
        held = self._leases.held.get(shard)
        if held is None or held.epoch != epoch:
            # The lease was lost while the shard was being taken (the renewal found it gone
            # before the shard was ours): drop what the take loaded.
            self._lost([shard])

    async def leave(self, clean: bool) -> None:
        """At stop: out of the members, every lease given back (after the last commit)."""
        for shard in list(self._leases.held):
            await self._leases.release(shard, clean)
        await self._leases.members(live=False)
        self._observe()

    def _observe(self) -> None:
        now = time.monotonic()
        for shard in range(self._shards):
            h = self._leases.held.get(shard)
            child(engine_shard_owned, str(shard), self._leases.owner).set(1 if h else 0)
            child(engine_shard_epoch, str(shard)).set(h.epoch if h else 0)
            child(engine_shard_lease_renew_age_seconds, str(shard)).set(
                now - h.renewed_at if h else 0
            )
