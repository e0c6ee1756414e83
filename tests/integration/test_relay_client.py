"""The WebSocket relay against the real PostgreSQL and Redis, started in-process on port 0:
one client's /ws socket, and slow clients.

Rows are written with SQL and frames published with Redis, as a worker would: store (commit)
first, publish after.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from service.config import Settings
from service.domain import cursor as cursors
from service.domain.wire import ws_message
from tests.helpers.relay import relay_for, run, wait_until, ws_url
from tests.helpers.relay_world import (
    World,
    assert_silent,
    recv_messages,
    seqs,
)

pytestmark = pytest.mark.integration

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


def test_relay_ws_cursor_replays_then_live(settings: Settings) -> None:
    async def main() -> None:
        async with World(settings) as w, relay_for(settings) as relay:
            a1, a2, b1 = await w.order("alice"), await w.order("alice"), await w.order("bob")
            await w.store(a1, "alice", 1)
            first = w.positions[await w.store(a2, "alice", 1)]
            await w.store(b1, "bob", 1)
            await w.store(a1, "alice", 2)
            await w.store(a2, "alice", 2)
            cursor = cursors.encode({0: first.offset})
            async with connect(ws_url(relay, f"/ws?clientId=alice&cursor={cursor}")) as ws:
                replayed = [orjson.loads(m)["payload"] for m in await recv_messages(ws, 2)]
                assert [(p["id"], p["seq"]) for p in replayed] == [(a1, 2), (a2, 2)]
                assert [cursors.decode(p["cursor"]) for p in replayed] == [{0: 4}, {0: 5}]
                await w.emit(a1, "alice", 3)
                live = orjson.loads((await recv_messages(ws, 1))[0])["payload"]
                assert (live["id"], live["seq"], cursors.decode(live["cursor"])) == (a1, 3, {0: 6})
                await assert_silent(ws)
            # cursor= (empty): the start of every log
            async with connect(ws_url(relay, "/ws?clientId=alice&cursor=")) as ws:
                assert len(await recv_messages(ws, 5)) == 5
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
