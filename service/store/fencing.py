"""Fencing a shard's writers in PostgreSQL (table shard_owners, migration 0004): a new owner
advances the shard's epoch when it takes the shard; every writer transaction begins with
FENCE, which refuses (SQLSTATE OEF01) an epoch that is not the current one.

FENCE locks the shard's row FOR SHARE, so the new owner's advance waits for a writer
transaction in progress: the old owner's commit lands before the new epoch or not at all.
An old owner paused in the middle of its commit (SIGSTOP, a VM freeze, a partition) would
hold that lock, and the takeover, as long as the pause. So an advance still waiting after
STUCK_S ends the writer sessions that block it (`pg_terminate_backend`): their transaction
is rolled back, nothing of it is stored, and the old owner, when it resumes, finds its
connection gone and its epoch stale. Only the engine's own sessions are ended (every worker
connection carries an application_name starting with ENGINE_APP): whoever holds the shard's
row while its lease is ours is a stale owner (a writer in a FENCE, or a taker's ADVANCE that
lost its lease), and a live writer's commit takes milliseconds, far below STUCK_S."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg

log = logging.getLogger(__name__)

ENGINE_APP = "order-engine"  # every worker connection's application_name starts with it
WRITER_APP = f"{ENGINE_APP} writer"  # the writer's transactions (FENCE first)
WORKER_APP = f"{ENGINE_APP} worker"  # the worker's other connections (reads, ADVANCE)
STUCK_S = 2.0
BLOCKERS = (
    "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE pid = ANY(pg_blocking_pids(%s)) AND application_name LIKE %s"
)

STALE_EPOCH = "OEF01"
STALE_POOL = "OEP01"

FENCE = "SELECT oe_fence(%s::integer[], %s::bigint[])"
ADVANCE = (
    "INSERT INTO shard_owners (shard, epoch, owner) VALUES (%s, %s, %s)"
    " ON CONFLICT (shard) DO UPDATE SET epoch = EXCLUDED.epoch, owner = EXCLUDED.owner,"
    " updated_at = now() WHERE shard_owners.epoch < EXCLUDED.epoch RETURNING epoch"
)


def stale_shards(error: psycopg.Error) -> list[int] | None:
    """The shards a fencing refusal names (None: not a fencing refusal)."""
    if error.sqlstate != STALE_EPOCH or error.diag.message_detail is None:
        return None
    return [int(s) for s in error.diag.message_detail.split(",") if s]


def stale_pools(error: psycopg.Error) -> list[str] | None:
    """The symbols whose pool a version check refused (None: not that refusal)."""
    if error.sqlstate != STALE_POOL or error.diag.message_detail is None:
        return None
    return sorted({p.rsplit(" ", 1)[0] for p in error.diag.message_detail.split(",") if p})


async def advance(conninfo: str, shard: int, epoch: int, owner: str) -> int | None:
    """Make `epoch` the shard's current one. None when done; else PostgreSQL's epoch, which
    is not below this one (this epoch is stale: do not write)."""
    async with await psycopg.AsyncConnection.connect(
        conninfo, autocommit=True, application_name=WORKER_APP
    ) as conn:
        advancing = asyncio.ensure_future(conn.execute(ADVANCE, (shard, epoch, owner)))
        while True:
            done, _ = await asyncio.wait({advancing}, timeout=STUCK_S)
            if done:
                break
            await _end_blockers(conninfo, conn.info.backend_pid, shard)
        cur = advancing.result()
        if await cur.fetchone() is not None:
            return None
        cur = await conn.execute("SELECT epoch FROM shard_owners WHERE shard = %s", (shard,))
        row: Any = await cur.fetchone()
        return int(row[0])


async def _end_blockers(conninfo: str, waiting_pid: int, shard: int) -> None:
    """End the engine's sessions that keep the advance of `shard` waiting (see the module)."""
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        cur = await conn.execute(BLOCKERS, (waiting_pid, f"{ENGINE_APP}%"))
        ended = [pid for pid, _ in await cur.fetchall()]
    if ended:
        log.warning(
            "shard %d: ended sessions %s holding the shard for over %.0fs (an owner paused"
            " mid-commit); their transactions are rolled back",
            shard,
            ended,
            STUCK_S,
        )


def current_epochs(conn: psycopg.Connection[Any]) -> dict[int, int]:
    return {s: e for s, e in conn.execute("SELECT shard, epoch FROM shard_owners")}
