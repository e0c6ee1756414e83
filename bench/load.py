"""End-to-end load run against a running engine: N market orders over REST from many
connections, every client listening on its WebSocket; prints throughput and latency.

    python -m bench.load --url http://127.0.0.1:3000 --ws ws://127.0.0.1:3001 -n 2000

Results are written as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from websockets.asyncio.client import connect

FINAL = {"filled", "failed", "canceled", "expired", "rejected"}
RESULTS = Path(__file__).with_name("results")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


class HttpPool:
    """One keep-alive connection per sending thread."""

    def __init__(self, url: str) -> None:
        u = urlparse(url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.local = threading.local()

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        data = json.dumps(body)
        try:
            conn.request("POST", path, data, {"Content-Type": "application/json"})
            r = conn.getresponse()
            return r.status, json.loads(r.read())
        except (OSError, http.client.HTTPException):
            self.local.conn = None
            raise


async def run(args: argparse.Namespace) -> dict[str, Any]:
    clients = [f"load-{uuid.uuid4().hex[:8]}-{i}" for i in range(args.clients)]
    submitted: dict[str, float] = {}
    finals: dict[str, tuple[str, float]] = {}
    ws_delay: list[float] = []
    done = asyncio.Event()
    errors: dict[str, int] = {}

    async def listen(client: str, ready: asyncio.Event) -> None:
        async with connect(f"{args.ws}/ws?clientId={client}", max_size=None) as ws:
            ready.set()
            async for raw in ws:
                now = time.time()
                p = json.loads(raw)["payload"]
                ts = p.get("ts")
                if ts:
                    from datetime import datetime

                    sent = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
                    ws_delay.append(now - sent)
                if p["status"] in FINAL and p["id"] not in finals:
                    finals[p["id"]] = (p["status"], time.monotonic())
                    if len(finals) >= args.n:
                        done.set()

    readies = [asyncio.Event() for _ in clients]
    listeners = [asyncio.create_task(listen(c, r)) for c, r in zip(clients, readies, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)

    pool = HttpPool(args.url)
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=args.connections)
    accept_lat: list[float] = []
    interval = 1.0 / args.rate if args.rate else 0.0

    def send(i: int) -> None:
        body = {
            "clientId": clients[i % len(clients)],
            "symbol": args.symbol,
            "side": "buy" if i % 2 else "sell",
            "amount": args.amount,
            "slippageBps": 500,
        }
        t0 = time.monotonic()
        try:
            status, order = pool.post("/api/orders/execute", body)
        except Exception as e:  # noqa: BLE001 - counted and reported
            errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
            return
        t1 = time.monotonic()
        if status != 201:
            errors[str(status)] = errors.get(str(status), 0) + 1
            return
        accept_lat.append(t1 - t0)
        submitted[order["id"]] = t0

    start = time.monotonic()
    futures = []
    for i in range(args.n):
        if interval:
            target = start + i * interval
            delay = target - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        futures.append(loop.run_in_executor(executor, send, i))
        if not interval and len(futures) % 500 == 0:
            await asyncio.sleep(0)
    await asyncio.gather(*futures)
    accepted_at = time.monotonic()
    expected = len(submitted)
    try:
        while len([o for o in submitted if o in finals]) < expected:
            await asyncio.sleep(0.05)
            if time.monotonic() - accepted_at > args.timeout:
                break
            if not args.quiet:
                print(f"\r  final {len(finals)}/{expected}", end="", file=sys.stderr)
    finally:
        for t in listeners:
            t.cancel()
        executor.shutdown()
    if not args.quiet:
        print(file=sys.stderr)
    end = max((finals[o][1] for o in submitted if o in finals), default=accepted_at)
    e2e = [finals[o][1] - submitted[o] for o in submitted if o in finals]
    statuses: dict[str, int] = {}
    for o in submitted:
        st = finals.get(o, ("missing", 0.0))[0]
        statuses[st] = statuses.get(st, 0) + 1
    ms = 1000
    return {
        "orders": args.n,
        "accepted": expected,
        "statuses": statuses,
        "errors": errors,
        "accepted_per_s": round(expected / (accepted_at - start), 1),
        "filled_per_s": round(statuses.get("filled", 0) / (end - start), 1),
        "accept_ms": {f"p{p}": round(percentile(accept_lat, p) * ms, 2) for p in (50, 90, 99)},
        "submit_to_final_ms": {
            f"p{p}": round(percentile(e2e, p) * ms, 2) for p in (50, 90, 99, 99.9)
        },
        "ws_delay_ms": {f"p{p}": round(percentile(ws_delay, p) * ms, 2) for p in (50, 99)},
        "ws_delay_mean_ms": round(statistics.fmean(ws_delay) * ms, 2) if ws_delay else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    p.add_argument("--url", default="http://127.0.0.1:3000")
    p.add_argument("--ws", default="ws://127.0.0.1:3001")
    p.add_argument("-n", type=int, default=2000, help="orders to send")
    p.add_argument("--rate", type=float, default=0, help="orders/s (0: as fast as possible)")
    p.add_argument("--connections", type=int, default=32, help="HTTP connections")
    p.add_argument("--clients", type=int, default=50, help="WebSocket clients")
    p.add_argument("--symbol", default="SOL/USDC")
    p.add_argument("--amount", default="0.01")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    result = asyncio.run(run(args))
    result["args"] = vars(args)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"written to {out}", file=sys.stderr)
    return 0 if result["statuses"].get("filled", 0) == result["accepted"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
