"""The traffic of a chaos run: orders sent at a steady rate while faults happen, and probes of
the API that record what a client saw meanwhile."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPConnection
from typing import Any

MARKETS = (
    # symbol, amount, IOC buy limit, IOC sell limit
    ("SOL/USDC", "0.5", "200", "100"),
    ("ETH/USDT", "0.01", "4000", "2000"),
    ("BONK/SOL", "1000000", "0.0000003", "0.0000001"),
)


# -- the load --
def order_body(i: int, run_id: str) -> dict[str, Any]:
    symbol, amount, buy_limit, sell_limit = MARKETS[i % len(MARKETS)]
    side = "buy" if (i // len(MARKETS)) % 2 else "sell"
    body: dict[str, Any] = {
        "clientId": f"chaos-{i % 20}",
        "clientOrderId": f"{run_id}-{i}",
        "symbol": symbol,
        "side": side,
        "amount": amount,
        "slippageBps": 300,
    }
    if i % 5 == 4:
        body.update(
            type="limit",
            timeInForce="IOC",
            limitPrice=buy_limit if side == "buy" else sell_limit,
        )
    return body


@dataclass
class Load:
    """Send n orders at `rate` per second; each is retried (same clientOrderId) until the
    API accepts it or `give_up_s` passes."""

    http: str
    n: int
    rate: float
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    give_up_s: float = 120
    accepted: dict[int, str] = field(default_factory=dict)  # index -> order id
    answers: dict[str, int] = field(default_factory=dict)  # HTTP status / error -> count
    retries: int = 0
    last_accept: float = 0.0
    on_accept: Callable[[int, str], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)
    _conns: list[HTTPConnection] = field(default_factory=list)

    def _post(self, body: dict[str, Any]) -> tuple[int, Any]:
        """(status, body); a 503 without Retry-After is counted as `503-no-retry-after`."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            host, port = self.http.rsplit("//", 1)[1].split(":")
            conn = self._local.conn = http.client.HTTPConnection(host, int(port), timeout=30)
            with self._lock:
                self._conns.append(conn)
        try:
            conn.request("POST", "/orders", json.dumps(body), {"Content-Type": "application/json"})
            r = conn.getresponse()
            raw = r.read()
            if r.status == 503 and not r.getheader("Retry-After"):
                self._count("503-no-retry-after")
            return r.status, json.loads(raw) if raw else None
        except (OSError, http.client.HTTPException):
            self._local.conn = None
            conn.close()
            raise

    def _count(self, key: str) -> None:
        with self._lock:
            self.answers[key] = self.answers.get(key, 0) + 1

    def send(self, i: int) -> None:
        body = order_body(i, self.run_id)
        deadline = time.monotonic() + self.give_up_s
        delay = 0.1
        while True:
            try:
                status, out = self._post(body)
                self._count(str(status))
            except (OSError, http.client.HTTPException) as e:
                status, out = 0, None
                self._count(type(e).__name__)
            if status in (200, 201):
                with self._lock:
                    self.accepted[i] = out["id"]
                    self.last_accept = time.monotonic()
                if self.on_accept is not None:
                    self.on_accept(i, out["id"])
                return
            if 400 <= status < 500 and status != 429:
                raise AssertionError(f"order {i} refused: {status} {out}")
            if time.monotonic() > deadline:
                return
            with self._lock:
                self.retries += 1
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def run(self, on_progress: Callable[[int], None] | None = None) -> None:
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = []
            for i in range(self.n):
                delay = start + i / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(self.send, i))
                if on_progress is not None:
                    on_progress(i + 1)
            for f in futures:
                f.result()
        for conn in self._conns:
            conn.close()


def probe(http_url: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """One request during an outage: status, Retry-After, body and how long it took."""
    host, port = http_url.rsplit("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    t0 = time.monotonic()
    try:
        data = json.dumps(body) if body is not None else None
        conn.request(method, path, data, {"Content-Type": "application/json"})
        r = conn.getresponse()
        raw = r.read()
        return {
            "status": r.status,
            "retry_after": r.getheader("Retry-After"),
            "body": json.loads(raw) if raw else None,
            "seconds": round(time.monotonic() - t0, 2),
        }
    finally:
        conn.close()


def start_probes(http_url: str, run_id: str, notes: dict[str, Any]) -> threading.Thread:
    """GET /health and POST an order (clientOrderId `<run>-probe`) while a server is down,
    in a thread of their own (the outage lasts as long as planned whatever they take)."""
    body = {**order_body(1, run_id), "clientOrderId": f"{run_id}-probe"}

    def run() -> None:
        t0 = time.monotonic()
        notes["health_during"] = probe(http_url, "GET", "/health")
        notes["post_during"] = probe(http_url, "POST", "/orders", body)
        notes["probe_orders"] = 1 if notes["post_during"]["status"] == 201 else 0
        notes["post_during"]["answered_after_s"] = round(time.monotonic() - t0, 2)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t
