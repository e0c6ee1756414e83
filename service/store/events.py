"""The relay's PostgreSQL reads: stored events to replay, and who owns an order.

Replays are read a page at a time (keyset on seq or event_id), so a long history never
holds a pool connection while a slow client is being written to.
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from psycopg_pool import AsyncConnectionPool

from service.domain.wire import ws_message

PAGE = 500

_ORDER_EVENTS = (
    "SELECT event_id, seq, status, ts, payload FROM order_events"
    " WHERE order_id = %s AND seq > %s AND seq < %s ORDER BY seq LIMIT %s"
)
_CLIENT_EVENTS = (
    "SELECT order_id, event_id, seq, status, ts, payload FROM order_events"
    " WHERE client_id = %s AND event_id > %s ORDER BY event_id LIMIT %s"
)
_ORDER_OWNER = "SELECT client_id FROM orders WHERE id = %s"
_MAX_EVENT_ID = "SELECT coalesce(max(event_id), 0) FROM order_events"

_NO_UPPER_SEQ = 2**31 - 1  # seq is an integer column


class Event(NamedTuple):
    """One order:update message with the numbers the relay orders and dedupes on."""

    order_id: str
    seq: int
    event_id: int
    message: bytes


def _payload(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class EventStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def order_owner(self, order_id: str) -> str | None:
        """The order's client_id, or None when there is no such order."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(_ORDER_OWNER, (uuid.UUID(order_id),))
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def max_event_id(self) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute(_MAX_EVENT_ID)
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def order_events(
        self, order_id: str, after_seq: int, before_seq: int | None = None, limit: int = PAGE
    ) -> list[Event]:
        """Up to `limit` events of one order with after_seq < seq < before_seq, by seq."""
        upper = _NO_UPPER_SEQ if before_seq is None else before_seq
        async with self._pool.connection() as conn:
            cur = await conn.execute(_ORDER_EVENTS, (uuid.UUID(order_id), after_seq, upper, limit))
            rows = await cur.fetchall()
        return [
            Event(
                order_id,
                seq,
                event_id,
                ws_message(order_id, status, seq, event_id, ts, _payload(payload)),
            )
            for event_id, seq, status, ts, payload in rows
        ]

    async def client_events(
        self, client_id: str, after_event_id: int, limit: int = PAGE
    ) -> list[Event]:
        """Up to `limit` events of one client's orders with event_id > after_event_id."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(_CLIENT_EVENTS, (client_id, after_event_id, limit))
            rows = await cur.fetchall()
        events = []
        for oid, event_id, seq, status, ts, payload in rows:
            order_id = str(oid)
            message = ws_message(order_id, status, seq, event_id, ts, _payload(payload))
            events.append(Event(order_id, seq, event_id, message))
        return events
