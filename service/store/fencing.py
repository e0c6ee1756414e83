"""Fencing a shard's writers in PostgreSQL (table shard_owners, migration 0004): a new owner
advances the shard's epoch when it takes the shard; every writer transaction begins with
FENCE, which refuses (SQLSTATE OEF01) an epoch that is not the current one."""

from __future__ import annotations

from typing import Any

import psycopg

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
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        cur = await conn.execute(ADVANCE, (shard, epoch, owner))
        if await cur.fetchone() is not None:
            return None
        cur = await conn.execute("SELECT epoch FROM shard_owners WHERE shard = %s", (shard,))
        row: Any = await cur.fetchone()
        return int(row[0])


def current_epochs(conn: psycopg.Connection[Any]) -> dict[int, int]:
    return {s: e for s, e in conn.execute("SELECT shard, epoch FROM shard_owners")}
