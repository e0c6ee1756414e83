"""The batch scenario (`--scenario batch`): N market orders over `POST /orders/batch` (markets
--batch-symbols in turn: one per worker), in batches of --batch-size (100) from
--batch-connections keep-alive connections, flat out;
--clients WebSocket clients (/ws?clientId=) listen. Prints accepted (committed) orders/s,
filled/s, the request latency, and checks that every order filled, that its six events
arrived over WebSocket, and that PostgreSQL holds every accepted order.

Its bare twin (--baseline) is Falcon on gunicorn doing the same I/O with no engine logic:
one INSERT of the batch's rows (one transaction) and one pipeline of XADDs per request
(bench/load/baseline_http.py `/orders/batch`), run by baseline.http_run with the batch
sender below in place of the single-order one.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import psycopg

from bench.load import baseline as bare
from bench.load import engine as eng
from bench.load.clients import HttpConnection, Progress, message_payload, percentiles_ms, ws_connect
from bench.load.runs import SIX, parse_env, start_profiles, stop_profiles
from engine_core import fsm

BATCH_PATH = "/orders/batch"


async def send_batches(
    url: str,
    n: int,
    size: int,
    connections: int,
    body_of: Any,
    progress: Progress | None,
    on_result: Any = None,
) -> dict[str, Any]:
    """N orders as ceil(N / size) POSTs of `size` from `connections` keep-alive connections,
    flat out. Returns one accept latency per accepted order (its request's), the request
    latencies, errors (by status) and the submit window."""
    batches = itertools.count()
    accept: list[float] = []
    requests: list[float] = []
    errors: dict[str, int] = {}
    start = time.perf_counter()
    done = 0

    async def one_connection() -> None:
        nonlocal done
        conn = HttpConnection(url)
        try:
            while (b := next(batches)) * size < n:
                lo, hi = b * size, min(n, (b + 1) * size)
                body = orjson.dumps({"orders": [body_of(i) for i in range(lo, hi)]})
                t0 = time.perf_counter()
                try:
                    status, data = await conn.post(BATCH_PATH, body)
                except Exception as e:  # noqa: BLE001 - counted and reported
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                    continue
                t1 = time.perf_counter()
                requests.append(t1 - t0)
                done += hi - lo
                if progress is not None:
                    progress.update(done)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + hi - lo
                    continue
                for r in orjson.loads(data)["results"]:
                    if r["status"] == 201:
                        accept.append(t1 - t0)
                        if on_result is not None:
                            on_result(r["order"]["id"], t0)
                    else:
                        errors[str(r["status"])] = errors.get(str(r["status"]), 0) + 1
        finally:
            conn.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    end = time.perf_counter()
    if progress is not None:
        progress.update(done, force=True)
        progress.close()
    return {"accept": accept, "requests": requests, "errors": errors, "start": start, "end": end}


async def batch_run(args: argparse.Namespace, http: str, ws: str) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    clients = [f"batch-{tag}-{i}" for i in range(args.clients)]
    submitted: dict[str, float] = {}
    finals: dict[str, tuple[str, float]] = {}
    seqs: dict[str, set[int]] = {}

    def on_message(raw: bytes, t: float) -> None:
        p = message_payload(raw)
        oid = p["id"]
        seqs.setdefault(oid, set()).add(p["seq"])
        if p["status"] in fsm.TERMINAL and oid not in finals:
            finals[oid] = (p["status"], t)

    readers = [await ws_connect(f"{ws}/ws?clientId={c}", on_message) for c in clients]
    symbols = args.batch_symbols.split(",")

    def body_of(i: int) -> dict[str, Any]:
        return {
            "clientId": clients[i % len(clients)],
            "symbol": symbols[i % len(symbols)],
            "side": "buy" if i % 2 else "sell",
            "amount": args.amount,
            "slippageBps": 500,
        }

    def on_result(oid: str, t0: float) -> None:
        submitted[oid] = t0

    sent = await send_batches(
        http,
        args.n,
        args.batch_size,
        args.batch_connections,
        body_of,
        Progress("batch", args.n, not args.quiet),
        on_result,
    )
    prog = Progress("  filled", len(submitted), not args.quiet)
    deadline = time.perf_counter() + args.timeout

    def complete() -> int:  # final, with all six events delivered
        return sum(1 for o in submitted if o in finals and len(seqs[o]) >= len(SIX))

    while complete() < len(submitted) and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
        prog.update(complete())
    await asyncio.sleep(0.3)  # any late (duplicate or stray) message
    prog.update(complete(), force=True)
    prog.close()
    for r in readers:
        r.close()
    statuses: dict[str, int] = {}
    for o in submitted:
        st = finals.get(o, ("missing", 0.0))[0]
        statuses[st] = statuses.get(st, 0) + 1
    missing_events = sum(1 for o in submitted if seqs.get(o, set()) != set(range(1, 7)))
    end = max((finals[o][1] for o in submitted if o in finals), default=sent["end"])
    e2e = [finals[o][1] - t0 for o, t0 in submitted.items() if o in finals]
    return {
        "scenario": "batch",
        "orders": args.n,
        "batch_size": args.batch_size,
        "symbols": symbols,
        "connections": args.batch_connections,
        "accepted": len(submitted),
        "statuses": statuses,
        "errors": sent["errors"],
        "orders_missing_events": missing_events,
        "accepted_per_s": round(len(submitted) / (sent["end"] - sent["start"]), 1),
        "filled_per_s": round(statuses.get("filled", 0) / max(1e-9, end - sent["start"]), 1),
        "request_ms": percentiles_ms(sent["requests"], (50, 90, 99)),
        "submit_to_filled_ms": percentiles_ms(e2e, (50, 90, 99)),
        "ws_messages": sum(len(s) for s in seqs.values()),
    }


async def scenario_batch(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with eng.fresh(args.keep) as f:
        env = eng.engine_env(f, parse_env(args.env))
        with eng.start(env, workdir, "up", args.engine_dir) as e:
            profile = start_profiles(args, e, "batch")
            try:
                out = await batch_run(args, e.http, e.ws)
            finally:
                stop_profiles(profile)
            out.update(eng.cpu_report(e))
        with psycopg.connect(f.database_url) as conn:
            row = conn.execute("SELECT count(*) FROM orders").fetchone()
        out["persisted"] = row[0] if row else 0
    return out


async def bare_batch(args: argparse.Namespace) -> dict[str, Any]:
    """The bare twin: baseline.http_run with batches in place of single POSTs."""

    async def send(
        url: str, n: int, connections: int, rate: float, body_of: Any, progress: Any
    ) -> dict[str, Any]:
        return await send_batches(
            url, n, args.batch_size, args.batch_connections, body_of, progress
        )

    out = await bare.http_run(args, 0, send)
    out["scenario"] = "bare-batch"
    return out


def add_batch_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch-size", type=int, default=100, help="orders per batch request")
    p.add_argument(
        "--batch-connections", type=int, default=8, help="HTTP connections of the batch scenario"
    )
    p.add_argument(
        "--batch-symbols",
        default="SOL/USDC,ETH/USDT",
        help="markets of the batch scenario, round robin (these two: one per worker)",
    )
