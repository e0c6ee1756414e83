"""The WebSocket relay against the real PostgreSQL and Redis, started in-process on port 0.

Rows are written with SQL and frames published with Redis, as a worker would: store (commit)
first, publish after.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from service.config import Settings
from service.domain.wire import pubsub_frame, ws_message
from service.relay import serve_relay
from service.store.events import PAGE, Event
from tests.helpers.relay import rejected, relay_for, run, wait_until, ws_url

pytestmark = pytest.mark.integration

STATUSES = ["pending", "routing", "building", "submitted", "confirmed", "filled"]


class World:
    """The test's side of PostgreSQL and Redis: orders, stored events, published frames."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

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
        """Commit event `seq` of the order; returns its WS message."""
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
            "INSERT INTO order_events (order_id, client_id, seq, status, payload)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING event_id, ts",
            (uuid.UUID(order_id), client_id, seq, status, orjson.dumps(payload).decode()),
        )
        row = await cur.fetchone()
        assert row is not None
        event_id, ts = row
        return ws_message(order_id, status, seq, event_id, ts, payload)

    async def publish(self, client_id: str, order_id: str, message: bytes) -> None:
        body = orjson.loads(message)["payload"]
        frame = pubsub_frame(client_id, order_id, body["seq"], body["eventId"], message)
        await self.redis.publish(self.settings.events_channel, frame)

    async def emit(self, order_id: str, client_id: str, seq: int) -> bytes:
        message = await self.store(order_id, client_id, seq)
        await self.publish(client_id, order_id, message)
        return message


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


# -- one order: replay then live --


def test_relay_events_published_during_replay_delivered_once_in_order(settings: Settings) -> None:
    async def main() -> None:
        async with World(settings) as w, relay_for(settings) as relay:
            oid = await w.order("alice")
            stored = [await w.store(oid, "alice", seq) for seq in (1, 2, 3)]
            original = relay.store.order_events
            calls = 0

            async def racing(
                order_id: str, after_seq: int, before_seq: int | None = None, limit: int = PAGE
            ) -> list[Event]:
                # Event 3 arrives live before the replay query reads it; event 4 is
                # committed and published after the query's snapshot, before the flush.
                nonlocal calls
                calls += 1
                if calls > 1:
                    return await original(order_id, after_seq, before_seq, limit)
                seen = relay.hub.received
                await w.publish("alice", oid, stored[2])
                await wait_until(lambda: relay.hub.received > seen)
                rows = await original(order_id, after_seq, before_seq, limit)
                stored.append(await w.emit(oid, "alice", 4))
                await wait_until(lambda: relay.hub.received > seen + 1)
                return rows

            relay.store.order_events = racing  # type: ignore[method-assign]
            async with connect(ws_url(relay, f"/api/orders/execute?orderId={oid}")) as ws:
                first = await recv_messages(ws, 4)
                stored.append(await w.emit(oid, "alice", 5))
                stored.append(await w.emit(oid, "alice", 6))
                rest = await recv_messages(ws, 2)
                await assert_silent(ws)
            got = first + rest
            assert seqs(got) == [1, 2, 3, 4, 5, 6]
            # Replayed and live messages are the same bytes a worker publishes.
            assert [m.encode() for m in got] == stored
            assert calls == 1

    run(main())


def test_relay_from_seq_skips_earlier_and_redelivered_events(settings: Settings) -> None:
    async def main() -> None:
        async with World(settings) as w, relay_for(settings) as relay:
            oid = await w.order("alice")
            stored = [await w.store(oid, "alice", seq) for seq in (1, 2, 3, 4)]
            before = {k: sample(k) for k in ("replay", "live", "connections")}
            async with connect(ws_url(relay, f"/api/orders/execute?orderId={oid}&fromSeq=2")) as ws:
                assert seqs(await recv_messages(ws, 2)) == [3, 4]
                await w.publish("alice", oid, stored[3])  # a redelivered publish of seq 4
                await w.emit(oid, "alice", 5)
                assert seqs(await recv_messages(ws, 1)) == [5]
                await assert_silent(ws)
                assert sample("connections") == before["connections"] + 1
            assert sample("replay") == before["replay"] + 2
            assert sample("live") == before["live"] + 1
            await wait_until(lambda: sample("connections") == before["connections"])

    run(main())


def test_relay_live_seq_gap_filled_from_store(settings: Settings) -> None:
    async def main() -> None:
        async with World(settings) as w, relay_for(settings) as relay:
            oid = await w.order("alice")
            await w.store(oid, "alice", 1)
            async with connect(ws_url(relay, f"/api/orders/execute?orderId={oid}")) as ws:
                assert seqs(await recv_messages(ws, 1)) == [1]
                await w.store(oid, "alice", 2)  # committed, its publish lost
                await w.store(oid, "alice", 3)
                await w.emit(oid, "alice", 4)
                assert seqs(await recv_messages(ws, 3)) == [2, 3, 4]
                await assert_silent(ws)

    run(main())


def test_relay_order_socket_receives_only_that_order(settings: Settings) -> None:
    async def main() -> None:
        async with World(settings) as w, relay_for(settings) as relay:
            mine, other = await w.order("alice"), await w.order("alice")
            async with connect(ws_url(relay, f"/api/orders/execute?orderId={mine}")) as ws:
                await w.emit(other, "alice", 1)
                await w.emit(mine, "alice", 1)
                [message] = await recv_messages(ws, 1)
                assert orjson.loads(message)["payload"]["id"] == mine
                await assert_silent(ws)

    run(main())


# -- one client: /ws --


def test_relay_ws_client_receives_only_its_orders(settings: Settings) -> None:
    async def main() -> None:
        async with World(settings) as w, relay_for(settings) as relay:
            a1, a2, b1 = await w.order("alice"), await w.order("alice"), await w.order("bob")
            async with connect(ws_url(relay, "/ws?clientId=alice")) as ws:
                await w.emit(b1, "bob", 1)
                await w.emit(a1, "alice", 1)
                await w.emit(b1, "bob", 2)
                await w.emit(a2, "alice", 1)
                await w.emit(a1, "alice", 2)
                got = [orjson.loads(m)["payload"] for m in await recv_messages(ws, 3)]
                assert [(p["id"], p["seq"]) for p in got] == [(a1, 1), (a2, 1), (a1, 2)]
                await assert_silent(ws)

    run(main())


def test_relay_ws_after_event_id_replays_then_live(settings: Settings) -> None:
    async def main() -> None:
        async with World(settings) as w, relay_for(settings) as relay:
            a1, a2, b1 = await w.order("alice"), await w.order("alice"), await w.order("bob")
            await w.store(a1, "alice", 1)
            first = orjson.loads(await w.store(a2, "alice", 1))["payload"]["eventId"]
            await w.store(b1, "bob", 1)
            await w.store(a1, "alice", 2)
            await w.store(a2, "alice", 2)
            async with connect(ws_url(relay, f"/ws?clientId=alice&afterEventId={first}")) as ws:
                replayed = [orjson.loads(m)["payload"] for m in await recv_messages(ws, 2)]
                assert [(p["id"], p["seq"]) for p in replayed] == [(a1, 2), (a2, 2)]
                assert replayed[0]["eventId"] < replayed[1]["eventId"]
                await w.emit(a1, "alice", 3)
                live = orjson.loads((await recv_messages(ws, 1))[0])["payload"]
                assert (live["id"], live["seq"]) == (a1, 3)
                await assert_silent(ws)

    run(main())


def test_relay_pubsub_reconnect_replays_missed_events(settings: Settings) -> None:
    async def main() -> None:
        async with World(settings) as w, relay_for(settings) as relay:
            oid = await w.order("alice")
            await w.emit(oid, "alice", 1)
            await wait_until(lambda: relay.hub.received == 1)
            order_url = ws_url(relay, f"/api/orders/execute?orderId={oid}")
            async with (
                connect(order_url) as one,
                connect(ws_url(relay, "/ws?clientId=alice")) as ws,
            ):
                assert seqs(await recv_messages(one, 1)) == [1]
                await wait_until(lambda: len(relay.hub) == 2)
                await w.store(oid, "alice", 2)  # its publish lost while pub/sub is down
                name = settings.key("relay")
                ids = [
                    c["id"] for c in await w.redis.client_list(_type="pubsub") if c["name"] == name
                ]
                assert ids, "the relay names its pub/sub connection"
                for client_id in ids:
                    await w.redis.execute_command("CLIENT", "KILL", "ID", client_id)
                await wait_until(lambda: relay.resubscribes >= 1, timeout=10)
                await w.emit(oid, "alice", 3)
                assert seqs(await recv_messages(one, 2)) == [2, 3]
                assert seqs(await recv_messages(ws, 2)) == [2, 3]
                await assert_silent(one)
                await assert_silent(ws, 0.05)

    run(main())


# -- slow clients --


def test_relay_slow_client_overflow_closes_only_that_client(settings: Settings) -> None:
    async def main() -> None:
        async with World(settings) as w, relay_for(settings, queue_size=16) as relay:
            oid = await w.order("alice")
            url = ws_url(relay, "/ws?clientId=alice")
            # The slow client reads nothing: a tiny receive buffer and a 1-frame queue.
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", relay.port))
            sock.setblocking(False)
            async with connect(url) as fast, connect(url, sock=sock, max_queue=1) as slow:
                await wait_until(lambda: len(relay.hub) == 2)
                received: list[int] = []

                async def read_fast() -> None:
                    async for message in fast:
                        received.append(orjson.loads(message)["payload"]["seq"])

                reader = asyncio.create_task(read_fast())
                filler = {"failureReason": "x" * 16_384}
                ts = datetime.now(tz=UTC)
                seq = 0
                while len(relay.hub) == 2:  # until the relay gives up on the slow client
                    seq += 1
                    assert seq <= 5000, "the slow client was never closed"
                    message = ws_message(oid, "routing", seq, seq, ts, filler)
                    await w.publish("alice", oid, message)
                    if seq % 32 == 0:
                        await asyncio.sleep(0)
                seq += 1
                await w.publish("alice", oid, ws_message(oid, "routing", seq, seq, ts, {}))
                await wait_until(lambda: len(received) == seq, timeout=20)
                assert received == list(range(1, seq + 1))
                assert not reader.done()  # the fast client is still connected

                slow_seqs: list[int] = []
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        slow_seqs.append(orjson.loads(await slow.recv())["payload"]["seq"])
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 1013
                assert slow_seqs == list(range(1, len(slow_seqs) + 1))
                reader.cancel()

    run(main())


# -- HTTP before the upgrade --


def test_relay_healthz_answers_ok(settings: Settings) -> None:
    async def main() -> None:
        async with relay_for(settings) as relay:
            assert await http_get(relay.port, "/healthz") == (200, b"ok\n")

    run(main())


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/ws", 400, "clientId"),
        ("/ws?clientId=", 400, "clientId"),
        ("/ws?clientId=alice&afterEventId=x", 400, "afterEventId"),
        ("/ws?clientId=alice&afterEventId=-1", 400, "afterEventId"),
        ("/api/orders/execute", 400, "orderId"),
        ("/api/orders/execute?orderId=42", 400, "orderId"),
        (f"/api/orders/execute?orderId={uuid.uuid4()}&fromSeq=1.5", 400, "fromSeq"),
        (f"/api/orders/execute?orderId={uuid.uuid4()}&fromSeq=99999999999", 400, "fromSeq"),
        (f"/api/orders/execute?orderId={uuid.uuid4()}", 404, "orderId"),
        ("/nope", 404, None),
    ],
)
def test_relay_bad_parameters_rejected_naming_the_field(
    settings: Settings, path: str, status: int, field: str | None
) -> None:
    async def main() -> None:
        async with relay_for(settings) as relay:
            got, body = await rejected(relay, path)
            assert got == status
            assert body["error"]["code"]
            assert body["error"]["message"]
            assert body["error"].get("field") == field

    run(main())


def test_relay_api_keys_required_and_scoped_to_their_client(settings: Settings) -> None:
    keyed = dataclasses.replace(settings, api_keys={"key-a": "alice", "key-b": "bob"})

    async def main() -> None:
        async with World(keyed) as w, relay_for(keyed) as relay:
            mine, theirs = await w.order("alice"), await w.order("bob")
            await w.store(mine, "alice", 1)
            await w.store(theirs, "bob", 1)

            assert (await rejected(relay, "/ws?clientId=alice"))[0] == 401
            assert (await rejected(relay, "/ws?clientId=alice&apiKey=nope"))[0] == 401
            status, body = await rejected(relay, "/ws?clientId=bob&apiKey=key-a")
            assert (status, body["error"]["field"]) == (403, "clientId")
            path = f"/api/orders/execute?orderId={theirs}"
            assert (await rejected(relay, path, {"X-API-Key": "key-a"}))[0] == 404

            path = f"/api/orders/execute?orderId={mine}"
            bearer = {"Authorization": "Bearer key-a"}
            async with connect(ws_url(relay, path), additional_headers=bearer) as ws:
                assert seqs(await recv_messages(ws, 1)) == [1]
            # With a key, clientId defaults to the key's client.
            async with connect(ws_url(relay, "/ws?apiKey=key-a")) as ws:
                await wait_until(lambda: len(relay.hub) == 1)
                await w.emit(theirs, "bob", 2)
                await w.emit(mine, "alice", 2)
                [message] = await recv_messages(ws, 1)
                assert orjson.loads(message)["payload"]["id"] == mine

    run(main())


# -- the process entry --


def test_relay_serve_relay_runs_until_stopped(settings: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main() -> None:
        ready, stop = asyncio.Event(), asyncio.Event()
        server = asyncio.create_task(
            serve_relay(settings, host="127.0.0.1", port=port, ready=ready, stop=stop)
        )
        await ready.wait()
        assert await http_get(port, "/healthz") == (200, b"ok\n")
        stop.set()
        await server  # returns, no exception

    run(main())


def test_relay_run_exits_zero_on_sigterm(settings: Settings, pg_schema: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        DATABASE_URL=pg_schema,
        REDIS_URL=settings.redis_url,
        REDIS_PREFIX=settings.redis_prefix,
        HOST="127.0.0.1",
        WS_PORT=str(port),
    )
    code = (
        "from service.config import Settings; from service.relay import run;"
        " run(Settings.from_env())"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "the relay exited early"
            assert time.monotonic() < deadline, "the relay never answered /healthz"
            try:
                if asyncio.run(http_get(port, "/healthz")) == (200, b"ok\n"):
                    break
            except OSError:
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_relay_connections_per_client_capped_with_429(make_settings: Any) -> None:
    settings = make_settings(WS_MAX_CONNECTIONS_PER_CLIENT="2")

    async def main() -> None:
        async with relay_for(settings) as relay:
            url = ws_url(relay, "/ws?clientId=carol")
            async with connect(url), connect(url):
                await wait_until(lambda: len(relay.hub) == 2)
                status, body = await rejected(relay, "/ws?clientId=carol")
                assert status == 429 and body["error"]["code"] == "too_many_connections"
                async with connect(ws_url(relay, "/ws?clientId=dave")):
                    pass  # another client is not affected
            await wait_until(lambda: len(relay.hub) == 0)
            async with connect(url):  # the slots come back once closed
                pass

    asyncio.run(main())


def test_relay_client_that_keeps_sending_closed_with_reason(settings: Settings) -> None:
    async def main() -> None:
        async with relay_for(settings) as relay:
            async with connect(ws_url(relay, "/ws?clientId=erin")) as ws:
                for _ in range(40):
                    try:
                        await ws.send("hello?")
                    except ConnectionClosed:
                        break
                await ws.wait_closed()
                assert ws.close_code == 1008
                assert "only sends" in (ws.close_reason or "")

    asyncio.run(main())
