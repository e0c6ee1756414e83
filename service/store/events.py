"""The relay's PostgreSQL reads: stored events to replay, the shard logs' heads, and who
owns an order.

Replays are read a page at a time (keyset on seq or shard offset), so a long history never
holds a pool connection while a slow client is being written to.
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from psycopg_pool import AsyncConnectionPool

from service.domain.wire import ws_message

PAGE = 500

_COLUMNS = "order_id, client_id, event_id, seq, status, ts, payload, shard, shard_offset"
_ORDER_EVENTS = (
    f"SELECT {_COLUMNS} FROM order_events"  # noqa: S608 - constant columns
    " WHERE order_id = %s AND seq > %s AND seq < %s ORDER BY seq LIMIT %s"
)
_CLIENT_SHARD_EVENTS = (
    f"SELECT {_COLUMNS} FROM order_events"  # noqa: S608 - constant columns
    " WHERE client_id = %s AND shard = %s AND shard_offset > %s ORDER BY shard_offset LIMIT %s"
)
_SHARD_EVENTS = (
    f"SELECT {_COLUMNS} FROM order_events"  # noqa: S608 - constant columns
    " WHERE shard = %s AND shard_offset > %s AND shard_offset <= %s"
    " ORDER BY shard_offset LIMIT %s"
)
_SHARD_HEADS = "SELECT shard, last FROM shard_offsets"
_ORDER_OWNER = "SELECT client_id FROM orders WHERE id = %s"

_NO_UPPER_SEQ = 2**31 - 1  # seq is an integer column
_NO_SHARD = -1  # an event stored before the shard logs (migration 0005) has no position


class Event(NamedTuple):
    """One order:update message with the numbers the relay orders and dedupes on."""

    order_id: str
    seq: int
    event_id: int
    message: bytes
    client_id: str = ""
    shard: int = _NO_SHARD
    offset: int = 0


def _payload(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _events(rows: list[Any]) -> list[Event]:
    out = []
    for oid, client_id, event_id, seq, status, ts, payload, shard, offset in rows:
        order_id = str(oid)
        message = ws_message(order_id, status, seq, event_id, ts, _payload(payload))
        if offset is None:
            shard, offset = _NO_SHARD, 0
        out.append(Event(order_id, seq, event_id, message, client_id, shard, offset))
    return out


class EventStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def _query(self, query: str, params: tuple[Any, ...]) -> list[Any]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(query, params)  # type: ignore[arg-type]  # constants
            return await cur.fetchall()

    async def order_owner(self, order_id: str) -> str | None:
        """The order's client_id, or None when there is no such order."""
        rows = await self._query(_ORDER_OWNER, (uuid.UUID(order_id),))
        return None if not rows else str(rows[0][0])

    async def shard_heads(self) -> dict[int, int]:
        """Each shard's last offset taken (committed: a writer's row lock ends with it)."""
        return {shard: last for shard, last in await self._query(_SHARD_HEADS, ())}

    async def order_events(
        self, order_id: str, after_seq: int, before_seq: int | None = None, limit: int = PAGE
    ) -> list[Event]:
        """Up to `limit` events of one order with after_seq < seq < before_seq, by seq."""
        upper = _NO_UPPER_SEQ if before_seq is None else before_seq
        rows = await self._query(_ORDER_EVENTS, (uuid.UUID(order_id), after_seq, upper, limit))
        return _events(rows)

    async def client_shard_events(
        self, client_id: str, shard: int, after: int, limit: int = PAGE
    ) -> list[Event]:
        """Up to `limit` events of one client's orders in one shard after offset `after`."""
        return _events(await self._query(_CLIENT_SHARD_EVENTS, (client_id, shard, after, limit)))

    async def shard_events(
        self, shard: int, after: int, last: int, limit: int = PAGE
    ) -> list[Event]:
        """Up to `limit` events of one shard with after < offset <= last, by offset."""
        return _events(await self._query(_SHARD_EVENTS, (shard, after, last, limit)))
