"""The relay tests' side of PostgreSQL and Redis (World: orders, stored events, published
frames) and their socket, metric and HTTP helpers."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import psycopg
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from service.config import Settings
from service.domain import cursor as cursors
from service.domain.cursor import Position
from service.domain.wire import pubsub_frame, with_cursor, ws_message

STATUSES = ["pending", "routing", "building", "submitted", "confirmed", "filled"]


class World:
    """The test's side of PostgreSQL and Redis: orders, stored events, published frames."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.positions: dict[bytes, Position] = {}
        self.unstored = 0

    async def __aenter__(self) -> World:
        self.db = await psycopg.AsyncConnection.connect(self.settings.database_url, autocommit=True)
        self.redis = Redis.from_url(self.settings.redis_url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.db.close()
        await self.redis.aclose()

    async def order(self, client_id: str) -> str:
        order_id = str(uuid.uuid4())
        await self.db.execute(
            "INSERT INTO orders (id, client_id, request_hash, symbol, side, type,"
            " time_in_force, amount, slippage_bps, status)"
            " VALUES (%s, %s, 'h', 'SOL/USDC', 'buy', 'market', 'GTC', 1500000000, 50,"
            " 'pending')",
            (uuid.UUID(order_id), client_id),
        )
        return order_id

    async def store(self, order_id: str, client_id: str, seq: int) -> bytes:
        """Commit event `seq` of the order at the end of shard 0's log, as a writer does;
        returns its WS message (without cursor: the relay adds it per connection)."""
        status = STATUSES[(seq - 1) % len(STATUSES)]
        payload = {
            "filled": "0",
            "remaining": "1.5",
            "avgPrice": None,
            "txHash": f"tx{seq}" if status == "confirmed" else None,
            "failureReason": None,
            "attempts": 1,
            "extra": "not sent on the socket",
        }
        cur = await self.db.execute(
            "WITH t AS (INSERT INTO shard_offsets AS s (shard, last) VALUES (0, 1)"
            " ON CONFLICT (shard) DO UPDATE SET last = s.last + 1 RETURNING last)"
            " INSERT INTO order_events (order_id, client_id, seq, status, payload, shard,"
            " shard_offset) SELECT %s, %s, %s, %s, %s, 0, t.last FROM t"
            " RETURNING event_id, ts, shard_offset",
            (uuid.UUID(order_id), client_id, seq, status, orjson.dumps(payload).decode()),
        )
        row = await cur.fetchone()
        assert row is not None
        event_id, ts, offset = row
        message = ws_message(order_id, status, seq, event_id, ts, payload)
        self.positions[message] = Position(event_id, 0, offset)
        return message

    async def publish(self, client_id: str, order_id: str, message: bytes) -> None:
        """PUBLISH a stored message, or one never stored (then at the end of shard 7, a log
        only pub/sub knows)."""
        body = orjson.loads(message)["payload"]
        position = self.positions.get(message)
        if position is None:
            self.unstored += 1
            position = self.positions[message] = Position(body["eventId"], 7, self.unstored)
        frame = pubsub_frame(client_id, order_id, body["seq"], position, message)
        await self.redis.publish(self.settings.events_channel, frame)

    async def emit(self, order_id: str, client_id: str, seq: int) -> bytes:
        message = await self.store(order_id, client_id, seq)
        await self.publish(client_id, order_id, message)
        return message

    def on_order_socket(self, message: bytes) -> bytes:
        """The stored message as an order's socket sends it: with its own position."""
        p = self.positions[message]
        return with_cursor(message, cursors.encode({p.shard: p.offset}))


async def recv_messages(ws: ClientConnection, n: int, timeout: float = 5.0) -> list[str]:
    out = []
    async with asyncio.timeout(timeout):
        for _ in range(n):
            message = await ws.recv()
            assert isinstance(message, str), "events are text frames"
            out.append(message)
    return out


def seqs(messages: list[str]) -> list[int]:
    return [orjson.loads(m)["payload"]["seq"] for m in messages]


async def assert_silent(ws: ClientConnection, seconds: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(seconds):
            extra = await ws.recv()
            pytest.fail(f"unexpected message {extra!r}")


def sample(what: str) -> float:
    """This process's value of a relay metric."""
    if what == "connections":
        value = REGISTRY.get_sample_value("websocket_connections_current")
    else:
        value = REGISTRY.get_sample_value("engine_ws_messages_total", {"kind": what})
    return value or 0.0


async def http_get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    body = await reader.readexactly(length)
    writer.close()
    return int(head.split(b" ", 2)[1]), body
