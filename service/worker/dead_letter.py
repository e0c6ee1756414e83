"""Poison entries: a stream entry that cannot be decoded or applied, or that was delivered more
than MAX_DELIVERIES times, is moved to its shard's dead-letter stream with the error and the
delivery count, and acknowledged in the same transaction; it is counted and logged once. The
order it names, if it is still `pending` or mid-execution and no execution here holds it, ends
`rejected` / `failed` with the reason first, so nothing waits for it for ever.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
import redis.asyncio as aioredis

from engine_core import fsm
from service.config import Settings
from service.domain.markets import Market
from service.domain.order import LiveOrder
from service.metrics import child, engine_dead_letters_total, orders_total
from service.worker.writer import EventWriter

log = logging.getLogger(__name__)

REPLY_TTL_S = 60

DEAD_KEPT = 100_000  # entries a dead-letter stream keeps (approximate MAXLEN)
ERROR_CHARS = 500


def order_id(fields: dict[bytes, bytes]) -> str | None:
    """The order an entry names, when it names one that can be a stored id (a UUID)."""
    raw = fields.get(b"id")
    if raw is None:
        return None
    try:
        return str(uuid.UUID(raw.decode("ascii")))
    except (UnicodeDecodeError, ValueError):
        return None


class DeadLetters:
    def __init__(
        self,
        name: str,
        settings: Settings,
        shard_of_stream: dict[str, int],
        redis: aioredis.Redis,
        writer: EventWriter,
        markets: dict[str, Market],
    ) -> None:
        self._name = name
        self._settings = settings
        self._shard_of_stream = shard_of_stream
        self._redis = redis
        self._writer = writer
        self._markets = markets
        self.buried = 0  # this process's count (tests read it; the metric is for scrapes)

    async def end_order(self, row: Any, reason: str) -> str | None:
        """End a stored order that a poison entry named (`rejected` if still pending, else
        `failed`), durably; the status it ended with, or None when the table allows neither
        or the order is not of a market here. The caller checked no execution here holds it."""
        status = row.status
        target = "rejected" if status == "pending" else "failed"
        market = self._markets.get(row.symbol)
        if market is None or fsm.is_terminal(status) or not fsm.allowed(status, target):
            return None
        order = LiveOrder.from_row(row, market)
        order.failure_reason = reason[:ERROR_CHARS]
        await self._writer.transition(order, target)
        child(orders_total, order.type, order.side, target).inc()
        return target

    async def bury(
        self,
        stream: str,
        entry_id: str,
        fields: dict[bytes, bytes],
        error: str,
        deliveries: int,
        kind: str,
        *,
        answer: bool = False,
    ) -> None:
        """Copy the entry to the dead-letter stream with the error, and acknowledge it, in one
        MULTI (both keys are in the shard's slot); `answer`: a command entry's reply list gets
        a 500 too (one the worker had not answered)."""
        s = self._settings
        dead = s.dead_letter_key(self._shard_of_stream[stream])
        record: dict[Any, Any] = {
            "stream": stream,
            "entry": entry_id,
            "error": error[:ERROR_CHARS],
            "deliveries": str(deliveries),
            "kind": kind,
            "at": f"{time.time():.3f}",
        }
        for k, v in fields.items():
            record[b"f:" + k] = v
        reply = fields.get(b"reply") if answer else None
        # The dead letter and the ack together (one slot: the shard's hash tag), then the
        # answer (the reply list's own slot on a Redis Cluster).
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(dead, record, maxlen=DEAD_KEPT, approximate=True)
            pipe.xack(stream, s.group, entry_id)
            await pipe.execute()
        if reply:  # a command nobody answered yet: its API request is told at once
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.lpush(reply, orjson.dumps({"status": 500, "code": "internal_error"}))
                pipe.expire(reply, REPLY_TTL_S)
                await pipe.execute()
        self.buried += 1
        child(engine_dead_letters_total, kind).inc()
        log.error(
            "%s: entry %s of %s dead-lettered after %d deliveries: %s",
            self._name,
            entry_id,
            stream,
            deliveries,
            error[:ERROR_CHARS],
        )
