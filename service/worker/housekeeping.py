"""A worker's housekeeping of the streams it reads: the sweeper that re-appends `pending`
orders no stream entry carries, and retention (acknowledged entries trimmed)."""

from __future__ import annotations

import logging
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from service.config import Settings
from service.domain.markets import shard_of
from service.metrics import child, engine_shard_lag
from service.store.worker import WorkerStore
from service.worker.intake import Intake, entry_id_key, text
from service.worker.roster import Roster

log = logging.getLogger(__name__)


class Housekeeping:
    def __init__(
        self,
        name: str,
        settings: Settings,
        redis: aioredis.Redis,
        store: WorkerStore,
        roster: Roster,
        intake: Intake,
    ) -> None:
        self._name = name
        self._settings = settings
        self._redis = redis
        self._store = store
        self._roster = roster
        self._intake = intake  # the shards read here, their streams and groups

    async def sweep_once(self) -> int:
        """Re-append `pending` orders that no stream entry carries (a crash between the
        API's commit and its XADD, or Redis restarted empty). Shards with unread entries
        are left alone: their orders are still on the way."""
        s = self._settings
        self._roster.forget_finished()
        quiet: list[str] = []
        for shard in self._intake.shards:
            stream = s.stream_key(shard)
            try:
                groups = await self._redis.xinfo_groups(stream)
            except ResponseError as e:
                if "no such key" not in str(e):
                    raise
                await self._intake.ensure_groups([stream])  # Redis came back empty
                groups = []
            lag = next(
                (g.get("lag") for g in groups if g["name"] in (s.group.encode(), s.group)), 0
            )
            child(engine_shard_lag, str(shard)).set(lag or 0)
            if not lag:
                quiet.extend(self._intake.symbols(shard))
        if not quiet:
            return 0
        found = await self._store.stale_pending(quiet, s.sweep_after_ms / 1000)
        rows = [(str(i), sym) for i, sym in found if str(i) not in self._roster.inflight]
        if rows:
            async with self._redis.pipeline(transaction=False) as pipe:
                for oid, sym in rows:
                    pipe.xadd(s.stream_key(shard_of(sym, s.shards)), {"id": oid, "symbol": sym})
                await pipe.execute()
            log.warning("%s re-queued %d pending orders", self._name, len(rows))
        return len(rows)

    async def trim_once(self) -> int:
        """Retention: drop acknowledged entries, keeping STREAM_KEEP of them below the oldest
        entry still needed (the oldest pending one, or the first not yet delivered). An
        entry is acknowledged only once its effect is durable, so nothing dropped is needed;
        new entries only come at the end. Returns the entries dropped."""
        s = self._settings
        dropped = 0
        for stream in self._intake.streams:
            try:
                groups: Any = await self._redis.xinfo_groups(stream)
            except ResponseError:
                continue  # no stream yet (or Redis came back empty)
            group = next((g for g in groups if g["name"] in (s.group.encode(), s.group)), None)
            if group is None:
                continue
            summary: Any = await self._redis.xpending(stream, s.group)
            needed_count = summary["pending"] + (group.get("lag") or 0)
            if await self._redis.xlen(stream) <= s.stream_keep + needed_count:
                continue  # nothing beyond the margin to drop (the usual case: no XRANGE)
            bounds = [entry_id_key(text(group["last-delivered-id"]))]
            bounds[0] = (bounds[0][0], bounds[0][1] + 1)  # the first not yet delivered
            if summary["pending"]:
                bounds.append(entry_id_key(text(summary["min"])))
            needed = min(bounds)
            below: Any = await self._redis.xrevrange(
                stream, max=f"({needed[0]}-{needed[1]}", count=s.stream_keep + 1
            )
            if len(below) <= s.stream_keep:
                continue  # no more than the margin below what is needed
            # the oldest kept (or, keeping none, the one needed); everything older goes
            keep = s.stream_keep
            cutoff = text(below[keep - 1][0]) if keep else f"{needed[0]}-{needed[1]}"
            dropped += int(await self._redis.xtrim(stream, minid=cutoff, approximate=False))
        return dropped
