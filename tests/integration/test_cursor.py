"""The commit-ordered shard logs and the resume cursor, on the real PostgreSQL and Redis.

Writers use the engine's own SQL: the worker's group commit (`store.batch.commit_batch`)
and the API's insert of orders with their pending events (`OrderStore.insert_many`), many
at once, on overlapping shards. Events are published after their commit as the worker and
the API publish them, except that some PUBLISHes are lost and some are late (what a writer
killed after its commit, or two publishers of one shard racing, do to the relay).
"""

from __future__ import annotations

import asyncio
import random
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from service.config import Settings
from service.domain import cursor as cursors
from service.domain.cursor import Position
from service.domain.wire import iso, pubsub_batch, pubsub_frame, ws_message
from service.relay import RelayServer
from service.store import batch as store
from service.store.orders import OrderStore

pytestmark = pytest.mark.integration

SHARDS = 4
STATUSES = ["routing", "building", "submitted", "confirmed", "filled"]  # seq 2..6
PAYLOAD = {"filled": "0", "remaining": "1", "attempts": 1}


def order_values(client_id: str, shard: int) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "client_id": client_id,
        "client_order_id": None,
        "idem_key": None,
        "request_hash": "h",
        "symbol": "SOL/USDC",
        "side": "buy",
        "type": "market",
        "time_in_force": "GTC",
        "amount": 1_000_000_000,
        "limit_price": None,
        "expires_at": None,
        "slippage_bps": 50,
        "ts": datetime.now(UTC),
        "payload": PAYLOAD,
        "shard": shard,
    }


def api_insert(orders: OrderStore, values: list[dict[str, Any]]) -> list[tuple[Any, Position]]:
    """The API's group commit: the orders and their pending events, one statement."""
    out = []
    for v, got in zip(values, orders.insert_many(values), strict=True):
        assert got is not None
        row, position = got
        oid = str(v["id"])
        message = ws_message(oid, "pending", 1, position.event_id, row["created_at"], PAYLOAD)
        out.append((pubsub_frame(v["client_id"], oid, 1, position, message), position))
    return out


async def worker_commit(
    conn: psycopg.AsyncConnection[Any], steps: list[tuple[str, str, int, int]]
) -> list[bytes]:
    """The worker's group commit of events (order id, client, seq, shard); returns the frames
    it would publish."""
    now = datetime.now(UTC)
    events = [
        {
            "order_id": oid,
            "client_id": client,
            "seq": seq,
            "status": STATUSES[seq - 2],
            "ts": now,
            "payload": PAYLOAD,
            "shard": shard,
        }
        for oid, client, seq, shard in steps
    ]
    got = await store.commit_batch(
        conn, orders=[], events=events, fills=[], attempts=[], pools=[], markets=[], now=now
    )
    frames = []
    for oid, client, seq, shard in steps:
        position = got[(oid, seq)]
        assert position.shard == shard
        message = ws_message(oid, STATUSES[seq - 2], seq, position.event_id, iso(now), PAYLOAD)
        frames.append(pubsub_frame(client, oid, seq, position, message))
    return frames


class Engine:
    """API writers and shard writers (worker connections, each writing two shards, so that
    every shard has three writers), run together until `orders` orders are final."""

    def __init__(
        self,
        settings: Settings,
        clients: list[str],
        orders: int,
        publish: Callable[[list[bytes]], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.orders = orders
        self.publish = publish
        self.rng = random.Random(13)
        # per shard: (order id, client, next seq) of the orders waiting for their next step
        self.todo: list[list[tuple[str, str, int]]] = [[] for _ in range(SHARDS)]
        self.accepted = 0
        self.final = 0

    async def run(self) -> None:
        api = OrderStore(self.settings.database_url, size=4)
        api.open()
        try:
            await asyncio.gather(
                self._api(api), self._api(api), *(self._worker(w) for w in range(SHARDS))
            )
        finally:
            api.close()

    async def _api(self, api: OrderStore) -> None:
        while self.accepted < self.orders:
            n = min(self.rng.randint(1, 6), self.orders - self.accepted)
            self.accepted += n
            values = [
                order_values(self.rng.choice(self.clients), self.rng.randrange(SHARDS))
                for _ in range(n)
            ]
            created = await asyncio.to_thread(api_insert, api, values)
            for v in values:
                self.todo[v["shard"]].append((str(v["id"]), v["client_id"], 2))
            await self._publish([frame for frame, _ in created])

    async def _worker(self, index: int) -> None:
        shards = (index, (index + 1) % SHARDS)
        async with await store.connect(self.settings.database_url) as conn:
            while self.final < self.orders:
                steps = []
                for shard in shards:
                    queue = self.todo[shard]
                    take = queue[: self.rng.randint(0, 8)]
                    del queue[: len(take)]
                    steps += [(oid, client, seq, shard) for oid, client, seq in take]
                if not steps:
                    await asyncio.sleep(0.002)
                    continue
                frames = await worker_commit(conn, steps)
                # An order's next step only once this one is durable, as in the engine.
                for oid, client, seq, shard in steps:
                    if seq < 6:
                        self.todo[shard].append((oid, client, seq + 1))
                    else:
                        self.final += 1
                await self._publish(frames)

    async def _publish(self, frames: list[bytes]) -> None:
        if self.publish is not None:
            await self.publish(frames)


def committed_log(dsn: str) -> dict[int, list[int]]:
    with psycopg.connect(dsn, autocommit=True) as c:
        rows = c.execute(
            "SELECT shard, shard_offset FROM order_events ORDER BY shard, shard_offset"
        ).fetchall()
    out: dict[int, list[int]] = {}
    for shard, offset in rows:
        out.setdefault(shard, []).append(offset)
    return out


def test_shard_offsets_gap_free_and_in_commit_order_under_concurrent_writers(
    settings: Settings,
) -> None:
    """Every snapshot of the table, taken while API and worker writers of overlapping
    shards commit, shows each shard's log as 1..k with no hole: offset N is never visible
    before every offset below N is (which a number taken before commit cannot promise)."""
    snapshots: list[dict[int, list[int]]] = []
    stop = threading.Event()

    def watch() -> None:
        with psycopg.connect(settings.database_url, autocommit=True) as c:
            while not stop.is_set():
                rows = c.execute("SELECT shard, shard_offset FROM order_events").fetchall()
                snap: dict[int, list[int]] = {}
                for shard, offset in rows:
                    snap.setdefault(shard, []).append(offset)
                snapshots.append(snap)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        asyncio.run(asyncio.wait_for(Engine(settings, ["a", "b"], 400).run(), 120))
    finally:
        stop.set()
        watcher.join()
    assert len(snapshots) > 10
    holes = 0
    for snap in snapshots:
        for offsets in snap.values():
            if sorted(offsets) != list(range(1, len(offsets) + 1)):
                holes += 1
    assert holes == 0
    final = committed_log(settings.database_url)
    assert sum(len(v) for v in final.values()) == 400 * 6
    for shard, offsets in final.items():
        assert offsets == list(range(1, len(offsets) + 1)), shard
    with psycopg.connect(settings.database_url, autocommit=True) as c:
        heads: dict[int, int] = dict(c.execute("SELECT shard, last FROM shard_offsets").fetchall())
    assert heads == {shard: len(offsets) for shard, offsets in final.items()}


# -- the relay: resume from every cursor --


def relay_for(settings: Settings) -> RelayServer:
    return RelayServer(settings, host="127.0.0.1", port=0)


def key(payload: dict[str, Any]) -> tuple[str, int]:
    return payload["id"], payload["seq"]


async def read(ws: ClientConnection, got: list[dict[str, Any]], until: Callable[[], bool]) -> None:
    while not until():
        got.append(orjson.loads(await ws.recv())["payload"])


def stored_events(dsn: str, client_id: str) -> set[tuple[str, int]]:
    with psycopg.connect(dsn, autocommit=True) as c:
        rows = c.execute(
            "SELECT order_id::text, seq FROM order_events WHERE client_id = %s", (client_id,)
        ).fetchall()
    return {(oid, seq) for oid, seq in rows}


def in_order_once(got: list[dict[str, Any]]) -> None:
    keys = [key(p) for p in got]
    assert len(keys) == len(set(keys)), "a duplicate"
    last: dict[str, int] = {}
    for oid, seq in keys:
        assert seq > last.get(oid, 0), f"{oid}: seq {seq} after {last.get(oid)}"
        last[oid] = seq


def test_resume_from_every_cursor_exact_across_relay_restart_and_lost_publishes(
    settings: Settings,
) -> None:
    """A client follows its orders while writers run, PUBLISHes are lost (15 %,
    final events included) or late, and the relay is restarted mid-run; it reconnects with
    its last cursor and ends with every one of its events once, in each order's seq order.
    Then a connection from each cursor it received is replayed exactly the events it had
    not received at that point."""
    rng = random.Random(7)
    lost: list[bytes] = []

    async def main() -> None:
        redis = Redis.from_url(settings.redis_url)
        late: list[asyncio.Task[Any]] = []

        async def publish(frames: list[bytes]) -> None:
            kept = []
            for frame in frames:
                if rng.random() < 0.15:
                    lost.append(frame)
                else:
                    kept.append(frame)
            if not kept:
                return
            if rng.random() < 0.2:  # late: after events committed behind it

                async def later(batch: bytes) -> None:
                    await asyncio.sleep(rng.uniform(0.01, 0.2))
                    await redis.publish(settings.events_channel, batch)

                late.append(asyncio.create_task(later(pubsub_batch(kept))))
            else:
                await redis.publish(settings.events_channel, pubsub_batch(kept))

        got: list[dict[str, Any]] = []
        engine = Engine(settings, ["carol", "dave"], 100, publish)
        relay = relay_for(settings)
        await relay.start()
        try:
            async with connect(f"ws://127.0.0.1:{relay.port}/ws?clientId=carol&cursor=") as ws:
                writers = asyncio.create_task(engine.run())
                await read(ws, got, lambda: len(got) >= 100)
            # Restart the relay mid-run; reconnect with the last cursor received.
            await relay.close()
            relay = relay_for(settings)
            await relay.start()
            url = f"ws://127.0.0.1:{relay.port}/ws?clientId=carol&cursor={got[-1]['cursor']}"
            async with connect(url) as ws:
                await writers
                await asyncio.gather(*late)
                expected = stored_events(settings.database_url, "carol")
                # The lost PUBLISHes (final events among them) come from the relay's
                # catch-up from the store.
                await read(ws, got, lambda: len(got) >= len(expected))
                in_order_once(got)
                assert {key(p) for p in got} == expected

            # From every cursor of the run: exactly the rest.
            for i, p in enumerate(got):
                rest = [key(q) for q in got[i + 1 :]]
                url = f"ws://127.0.0.1:{relay.port}/ws?clientId=carol&cursor={p['cursor']}"
                async with connect(url) as ws:
                    replayed: list[dict[str, Any]] = []
                    n = len(rest)
                    await read(ws, replayed, lambda r=replayed, n=n: len(r) >= n)  # type: ignore[misc]
                    with pytest.raises(TimeoutError):
                        async with asyncio.timeout(0.02 if i else 0.3):
                            extra = orjson.loads(await ws.recv())["payload"]
                            pytest.fail(f"from cursor {i}: more than the rest: {extra}")
                in_order_once(replayed)
                assert sorted(key(q) for q in replayed) == sorted(rest), i
        finally:
            await relay.close()
            await redis.aclose()

    asyncio.run(asyncio.wait_for(main(), 240))
    assert any(f.startswith(b"carol\n") and b'"status":"filled"' in f for f in lost), (
        "some of carol's final events were never published (the catch-up's case)"
    )


def test_a_lost_publish_of_the_last_event_reaches_a_live_client_from_the_store(
    settings: Settings,
) -> None:
    """The worker commits an order's `filled` and dies before its PUBLISH: nothing later in
    the shard shows the gap, yet the connected client gets it (the relay's catch-up reads
    the shard heads every second), and so does an order socket opened before it."""

    async def main() -> None:
        api = OrderStore(settings.database_url, size=1)
        api.open()
        relay = relay_for(settings)
        await relay.start()
        redis = Redis.from_url(settings.redis_url)
        try:
            [(frame, position)] = await asyncio.to_thread(api_insert, api, [order_values("fay", 2)])
            oid = frame.split(b"\n")[1].decode()
            await redis.publish(settings.events_channel, frame)
            client_url = f"ws://127.0.0.1:{relay.port}/ws?clientId=fay&cursor="
            order_url = f"ws://127.0.0.1:{relay.port}/api/orders/execute?orderId={oid}"
            async with connect(client_url) as ws, connect(order_url) as one:
                got: list[dict[str, Any]] = []
                await read(ws, got, lambda: len(got) >= 1)
                async with await store.connect(settings.database_url) as conn:
                    # committed, never published
                    await worker_commit(conn, [(oid, "fay", seq, 2) for seq in range(2, 7)])
                await read(ws, got, lambda: len(got) >= 6)
                assert [p["seq"] for p in got] == [1, 2, 3, 4, 5, 6]
                assert got[-1]["status"] == "filled"
                assert got[-1]["cursor"] == cursors.encode({2: position.offset + 5})
                seen: list[dict[str, Any]] = []
                await read(one, seen, lambda: len(seen) >= 6)
                assert [p["seq"] for p in seen] == [1, 2, 3, 4, 5, 6]
        finally:
            await relay.close()
            await redis.aclose()
            api.close()

    asyncio.run(asyncio.wait_for(main(), 60))
