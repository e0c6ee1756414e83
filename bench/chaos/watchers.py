"""WebSocket watchers of a chaos run: every event a client and an order got, and the checks
that none was missed or seen twice."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import psycopg
from websockets.asyncio.client import connect

from engine_core import fsm


class WsWatcher:
    """One client's /ws socket for the whole run, in a thread of its own: every message it
    gets, reconnecting with afterEventId (the last one it saw) when the socket drops, as a
    client does when the engine restarts."""

    def __init__(self, ws_url: str, client_id: str) -> None:
        self.url = f"{ws_url}/ws?clientId={client_id}"
        self.events: list[dict[str, Any]] = []
        self.reconnects = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("WebSocket watcher could not connect")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    async def _main(self) -> None:
        after: int | None = None
        while not self._stop.is_set():
            url = self.url if after is None else f"{self.url}&afterEventId={after}"
            try:
                async with connect(url, max_size=None, open_timeout=5) as ws:
                    self._ready.set()
                    while not self._stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.25)
                        except TimeoutError:
                            continue
                        payload = json.loads(raw)["payload"]
                        self.events.append(payload)
                        after = max(after or 0, int(payload["eventId"]))
            except Exception:  # noqa: BLE001 - the relay restarting: connect again
                if self._stop.is_set():
                    return
                self.reconnects += 1
                await asyncio.sleep(0.2)

    def per_order(self) -> dict[str, list[int]]:
        seqs: dict[str, list[int]] = {}
        for p in list(self.events):
            seqs.setdefault(p["id"], []).append(int(p["seq"]))
        return seqs


class OrderWatcher:
    """One /api/orders/execute?orderId= socket per sampled order, opened right after its
    POST, followed until a final status; when the socket drops it connects again with
    fromSeq = the last seq it got, as a client does."""

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.seqs: dict[str, list[int]] = {}
        self.reconnects = 0
        self._stopping = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._futures: list[Any] = []

    def start(self) -> None:
        self._thread.start()

    def watch(self, order_id: str) -> None:
        self._futures.append(asyncio.run_coroutine_threadsafe(self._follow(order_id), self._loop))

    def stop(self) -> None:
        self._stopping = True
        for f in self._futures:
            f.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    async def _follow(self, order_id: str) -> None:
        seqs = self.seqs.setdefault(order_id, [])
        while not self._stopping:
            after = seqs[-1] if seqs else 0
            url = f"{self.ws_url}/api/orders/execute?orderId={order_id}&fromSeq={after}"
            try:
                async with connect(url, open_timeout=5) as ws:
                    async for raw in ws:
                        payload = json.loads(raw)["payload"]
                        seqs.append(int(payload["seq"]))
                        if payload["status"] in fsm.TERMINAL:
                            return
            except Exception:  # noqa: BLE001 - the relay restarting: connect again
                pass
            self.reconnects += 1
            await asyncio.sleep(0.2)


def orders_ws_check(watcher: OrderWatcher, dsn: str, timeout: float = 15) -> dict[str, Any]:
    """Each watched order's socket got every seq 1..N once, in order (N its last)."""
    with psycopg.connect(dsn) as conn:
        want = {
            str(oid): seq
            for oid, seq in conn.execute(
                "SELECT id, seq FROM orders WHERE id = ANY(%s::uuid[])", (list(watcher.seqs),)
            )
        }
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(watcher.seqs[oid][-1:] == [seq] for oid, seq in want.items()):
            break
        time.sleep(0.1)
    bad = {
        oid: list(watcher.seqs[oid])
        for oid, seq in want.items()
        if watcher.seqs[oid] != list(range(1, seq + 1))
    }
    return {
        "orders": len(want),
        "complete_in_order": len(want) - len(bad),
        "gaps_or_duplicates": len(bad),
        "reconnects": watcher.reconnects,
        "examples": dict(list(bad.items())[:3]),
    }


def ws_check(watcher: WsWatcher, dsn: str, client_id: str, timeout: float = 15) -> dict[str, Any]:
    """What the watcher's client saw of each of its orders: every seq 1..N once, in order,
    N the order's last (waits up to `timeout` for the last ones to arrive)."""
    with psycopg.connect(dsn) as conn:
        want = {
            str(oid): seq
            for oid, seq in conn.execute(
                "SELECT id, seq FROM orders WHERE client_id = %s", (client_id,)
            )
        }
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = watcher.per_order()
        if all(got.get(oid, [0])[-1:] == [seq] for oid, seq in want.items()):
            break
        time.sleep(0.1)
    got = watcher.per_order()
    bad = {
        oid: got.get(oid, [])
        for oid, seq in want.items()
        if got.get(oid, []) != list(range(1, seq + 1))
    }
    # what arrived of an order: 1, 2, ... k with nothing skipped, repeated or reordered
    disordered = [oid for oid, seqs in got.items() if seqs != list(range(1, len(seqs) + 1))]
    return {
        "orders": len(want),
        "complete_in_order": len(want) - len(bad),
        "gaps_or_duplicates": len(bad),
        "disordered": len(disordered),
        "incomplete": len(bad) - len(set(disordered) & set(bad)),
        "reconnects": watcher.reconnects,
        "examples": dict(list(bad.items())[:3]),
    }
