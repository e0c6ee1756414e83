"""The WebSocket relay against the real PostgreSQL and Redis, started in-process on port 0:
one order's socket, replay then live.

Rows are written with SQL and frames published with Redis, as a worker would: store (commit)
first, publish after.
"""

from __future__ import annotations

import orjson
import pytest
from websockets.asyncio.client import connect

from service.config import Settings
from service.store.events import PAGE, Event
from tests.helpers.relay import relay_for, run, wait_until, ws_url
from tests.helpers.relay_world import (
    World,
    assert_silent,
    recv_messages,
    sample,
    seqs,
)

pytestmark = pytest.mark.integration

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
            assert [m.encode() for m in got] == [w.on_order_socket(m) for m in stored]
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
