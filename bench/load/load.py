"""End-to-end load runs of the engine, and the same I/O done by the bare libraries.

    python -m bench.load                      # start an engine, 2,000 market orders over REST
    python -m bench.load --url http://127.0.0.1:3000 --ws ws://127.0.0.1:3001 -n 2000
    python -m bench.load --scenario queued -n 20000       # the engine alone, orders queued
    python -m bench.load --scenario all --baseline        # every target next to its baseline
    order-engine bench …                                  # the same

Scenarios (each starts its own engine on a fresh database and Redis prefix unless --url is
given; REST only can target a running engine):

  rest      N market orders over REST from --connections keep-alive connections, as fast as
            possible or at --rate; --clients WebSocket clients (/ws?clientId=) listen. Prints
            accepted/s, filled/s, accept latency, submit->filled p50/p90/p99/p99.9, the
            WebSocket delay (event ts -> client) and errors; checks every event of every
            order arrived over WebSocket.
  queued    N market orders inserted into PostgreSQL and appended to the streams in bulk
            before the workers start (`order-engine worker` alone): orders/s through all six
            statuses, persisted and published.
  relay     1,000 WebSocket clients on the relay; a publisher sends order:update frames on
            the events channel as fast as possible, then paced at --relay-rate: delivered
            messages/s and publish->client p50/p99.
  inflight  N orders queued at the brief's latency (quote 200 ms, swap 2-3 s), queue rate
            limit lifted: peak orders the workers hold and the workers' memory over time
            (--inflight-waves K: K waves of N through the same workers, RSS after each).
  all       rest (max rate), rest at --rate 1000, queued, relay (and inflight with
            --inflight-n).

--baseline runs bench/load/baseline.py's bare-library twin of each scenario on the same machine
in the same run and prints the engine's ratio to it. Results go to bench/results/*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
import redis
import redis.asyncio as aioredis

from bench.load import baseline as bare
from bench.load import engine as eng
from bench.load.clients import (
    HttpConnection,
    Progress,
    message_payload,
    percentiles_ms,
    ws_connect,
)

FINAL = {"filled", "failed", "canceled", "expired", "rejected"}
RESULTS = Path(__file__).parents[1] / "results"
ORDER_PATH = "/api/orders/execute"
SIX = ["pending", "routing", "building", "submitted", "confirmed", "filled"]


# --------------------------------------------------------------------------- REST


async def send_orders(
    url: str,
    n: int,
    connections: int,
    rate: float,
    body_of: Any,
    progress: Progress | None,
    on_accept: Any = None,
) -> dict[str, Any]:
    """N POSTs from `connections` keep-alive connections; open loop at `rate` (0: flat out).
    Returns accept latencies, errors and the submit window."""
    counter = itertools.count()
    accept: list[float] = []
    errors: dict[str, int] = {}
    start = time.perf_counter()
    done = 0

    async def one_connection() -> None:
        nonlocal done
        conn = HttpConnection(url)
        try:
            while True:
                i = next(counter)
                if i >= n:
                    return
                if rate:
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                body = orjson.dumps(body_of(i))
                t0 = time.perf_counter()
                try:
                    status, data = await conn.post(ORDER_PATH, body)
                except Exception as e:  # noqa: BLE001 - counted and reported
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                    continue
                t1 = time.perf_counter()
                done += 1
                if progress is not None:
                    progress.update(done)
                if status not in (200, 201):
                    errors[str(status)] = errors.get(str(status), 0) + 1
                    continue
                accept.append(t1 - t0)
                if on_accept is not None:
                    on_accept(data, t0)
        finally:
            conn.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    end = time.perf_counter()
    if progress is not None:
        progress.update(done, force=True)
        progress.close()
    return {"accept": accept, "errors": errors, "start": start, "end": end}


async def rest_run(args: argparse.Namespace, http: str, ws: str) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    clients = [f"load-{tag}-{i}" for i in range(args.clients)]
    submitted: dict[str, float] = {}
    finals: dict[str, tuple[str, float]] = {}
    seqs: dict[str, set[int]] = {}
    ws_delay: list[float] = []
    all_final = asyncio.Event()
    wall0 = time.time() - time.perf_counter()  # perf_counter -> wall clock

    def on_message(raw: bytes, t: float) -> None:
        p = message_payload(raw)
        oid = p["id"]
        seqs.setdefault(oid, set()).add(p["seq"])
        ts = p.get("ts")
        if ts:
            sent = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
            ws_delay.append(max(0.0, wall0 + t - sent))
        if p["status"] in FINAL and oid not in finals:
            finals[oid] = (p["status"], t)
            if len(finals) >= len(submitted) and submitted_done.is_set():
                all_final.set()

    submitted_done = asyncio.Event()
    readers = [await ws_connect(f"{ws}/ws?clientId={c}", on_message) for c in clients]

    def body_of(i: int) -> dict[str, Any]:
        return {
            "clientId": clients[i % len(clients)],
            "symbol": args.symbol,
            "side": "buy" if i % 2 else "sell",
            "amount": args.amount,
            "slippageBps": 500,
        }

    def on_accept(data: bytes, t0: float) -> None:
        submitted[orjson.loads(data)["id"]] = t0

    label = f"rest@{args.rate:g}/s" if args.rate else "rest"
    sent = await send_orders(
        http,
        args.n,
        args.connections,
        args.rate,
        body_of,
        Progress(label, args.n, not args.quiet),
        on_accept,
    )
    submitted_done.set()
    if len(finals) >= len(submitted):
        all_final.set()
    prog = Progress("  filled", len(submitted), not args.quiet)
    deadline = time.perf_counter() + args.timeout
    while not all_final.is_set() and time.perf_counter() < deadline:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_final.wait(), 0.2)
        prog.update(sum(1 for o in submitted if o in finals))
    # the last events of the last orders may still be on their way: a moment for them
    await asyncio.sleep(0.3)
    prog.update(sum(1 for o in submitted if o in finals), force=True)
    prog.close()
    for r in readers:
        r.close()

    e2e = [finals[o][1] - t0 for o, t0 in submitted.items() if o in finals]
    statuses: dict[str, int] = {}
    for o in submitted:
        st = finals.get(o, ("missing", 0.0))[0]
        statuses[st] = statuses.get(st, 0) + 1
    missing_events = sum(
        1 for o in submitted if o in finals and seqs.get(o, set()) != set(range(1, 7))
    )
    end = max((finals[o][1] for o in submitted if o in finals), default=sent["end"])
    filled = statuses.get("filled", 0)
    return {
        "scenario": "rest",
        "orders": args.n,
        "rate": args.rate,
        "connections": args.connections,
        "accepted": len(submitted),
        "statuses": statuses,
        "errors": sent["errors"],
        "orders_missing_events": missing_events,
        "accepted_per_s": round(len(submitted) / (sent["end"] - sent["start"]), 1),
        "filled_per_s": round(filled / max(1e-9, end - sent["start"]), 1),
        "accept_ms": percentiles_ms(sent["accept"]),
        "submit_to_filled_ms": percentiles_ms(e2e),
        "ws_delay_ms": percentiles_ms(ws_delay, (50, 90, 99)),
        "ws_messages": sum(len(s) for s in seqs.values()),
    }


# --------------------------------------------------------------------------- queued


def bulk_insert_orders(
    dsn: str,
    n: int,
    symbols: list[str],
    clients: int,
    amount_units: dict[str, int],
    shards: int = 8,
) -> list[tuple[str, str]]:
    """N pending market orders with their `pending` events, as the API stores them, in a
    few big statements. Returns (order id, symbol)."""
    from service.domain.markets import shard_of
    from service.store.orders import INSERT_ORDERS

    out: list[tuple[str, str]] = []
    now = datetime.now(UTC)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for lo in range(0, n, 5000):
            batch = []
            for i in range(lo, min(n, lo + 5000)):
                sym = symbols[i % len(symbols)]
                oid = uuid.uuid4()
                out.append((str(oid), sym))
                batch.append(
                    {
                        "id": oid,
                        "client_id": f"q-{i % clients}",
                        "client_order_id": None,
                        "idem_key": None,
                        "request_hash": "bench",
                        "symbol": sym,
                        "side": "buy" if i % 2 else "sell",
                        "type": "market",
                        "time_in_force": "IOC",
                        "amount": amount_units[sym],
                        "limit_price": None,
                        "expires_at": None,
                        "slippage_bps": 500,
                        "ts": now,
                        "shard": shard_of(sym, shards),
                        "payload": {
                            "filled": "0",
                            "remaining": "0",
                            "avgPrice": None,
                            "txHash": None,
                            "failureReason": None,
                            "attempts": 0,
                        },
                    }
                )
            conn.execute(INSERT_ORDERS, {"rows": orjson.dumps(batch).decode()})
    return out


def xadd_orders(prefix: str, shards: int, orders: list[tuple[str, str]]) -> None:
    from service.domain.markets import shard_of

    r = redis.Redis.from_url(eng.REDIS_URL)
    for lo in range(0, len(orders), 5000):
        pipe = r.pipeline(transaction=False)
        for oid, sym in orders[lo : lo + 5000]:
            pipe.xadd(f"{prefix}:orders:{{{shard_of(sym, shards)}}}", {"id": oid, "symbol": sym})
        pipe.execute()
    r.close()


class PubSubCounter:
    """Counts the order:update events published on a channel (single or batched frames)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.events = 0
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await self._ready.wait()

    async def _run(self) -> None:
        r = aioredis.Redis.from_url(eng.REDIS_URL)
        ps = r.pubsub()
        await ps.subscribe(self.channel)
        self._ready.set()
        try:
            while True:
                msg = await ps.get_message(timeout=1.0)
                if msg and msg["type"] == "message":
                    self.events += bare.frame_events(msg["data"])
        finally:
            await ps.aclose()
            await r.aclose()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def amounts_for(symbols: list[str], markets_file: str | None = None) -> dict[str, int]:
    """A small order in each market (a hundredth of a base token, at least one unit)."""
    from service.config import DEFAULT_MARKETS_FILE
    from service.domain.markets import load_markets

    markets = load_markets(Path(markets_file) if markets_file else DEFAULT_MARKETS_FILE)
    return {s: max(1, 10 ** markets[s].base.decimals // 100) for s in symbols}


def workers_holding(metrics_dir: str) -> int:
    """Orders the workers hold (read from the streams, not final yet: their
    `order_queue_size` gauges, read from the multiprocess metric files). The stored
    statuses undercount them: an order admitted but whose `routing` is not committed yet
    is still `pending` in PostgreSQL."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=metrics_dir)
    for family in registry.collect():
        if family.name == "order_queue_size":
            return int(sum(sample.value for sample in family.samples))
    return 0


async def queued_run(
    args: argparse.Namespace,
    workdir: Path,
    extra_env: dict[str, str],
    label: str = "queued",
    waves: int = 1,
) -> dict[str, Any]:
    """N orders queued before the workers start; with `waves` > 1, N more each time the
    previous N are filled, through the same workers (is their memory flat over time?)."""
    total = args.n * waves
    with eng.fresh(args.keep) as f:
        env = eng.engine_env(f, extra_env)
        eng.migrate(env, args.engine_dir)
        symbols = args.queued_symbols.split(",")
        amounts = amounts_for(symbols)

        def queue_orders() -> None:
            """N more orders in PostgreSQL, then on their markets' streams."""
            shards = int(env.get("SHARDS", "8"))
            orders = bulk_insert_orders(
                f.database_url, args.n, symbols, args.clients, amounts, shards
            )
            xadd_orders(f.prefix, shards, orders)

        t = time.perf_counter()
        queue_orders()
        setup_s = time.perf_counter() - t
        counter = PubSubCounter(f"{f.prefix}:events")
        await counter.start()
        db = await psycopg.AsyncConnection.connect(f.database_url, autocommit=True)
        prog = Progress(label, total, not args.quiet)
        per_wave: list[dict[str, Any]] = []
        rss: dict[str, list[int]] = {}
        inflight_peak = 0
        held_peak = 0
        t0 = time.perf_counter()
        with eng.start(env, workdir, "worker", args.engine_dir, wait_http=False) as e:
            profile: list[Any] = []
            if args.profile:
                while len(e.pids()) < int(env["WORKERS"]):
                    await asyncio.sleep(0.05)
                profile = start_profiles(args, e, label)
            deadline = time.perf_counter() + args.timeout * waves
            done = 0
            for wave in range(waves):
                if wave:
                    queue_orders()
                wave_held = 0
                while time.perf_counter() < deadline:
                    await asyncio.sleep(0.5)
                    cur = await db.execute(
                        "SELECT count(*) FILTER (WHERE status IN ('filled','failed','expired',"
                        "'canceled','rejected')), count(*) FILTER (WHERE status NOT IN"
                        " ('pending','filled','failed','expired','canceled','rejected'))"
                        " FROM orders"
                    )
                    row = await cur.fetchone()
                    assert row is not None
                    done, live = row
                    inflight_peak = max(inflight_peak, live)
                    wave_held = max(wave_held, workers_holding(env["PROMETHEUS_MULTIPROC_DIR"]))
                    for name, pid in e.pids().items():
                        rss.setdefault(name, []).append(eng.rss_kb(pid))
                    prog.update(done, f"in flight {live}")
                    if done >= args.n * (wave + 1):
                        break
                held_peak = max(held_peak, wave_held)
                per_wave.append(
                    {
                        "held_peak": wave_held,
                        "rss_kb_after": {name: eng.rss_kb(pid) for name, pid in e.pids().items()},
                    }
                )
            await asyncio.sleep(0.5)  # the last publishes
            stop_profiles(profile)
        wall = time.perf_counter() - t0
        prog.close()
        cur = await db.execute(
            "SELECT min(ts) FILTER (WHERE seq = 2), max(ts), count(*),"
            " count(*) FILTER (WHERE status = 'filled') FROM order_events"
        )
        first, last, events, filled = await cur.fetchone() or (None, None, 0, 0)
        cur = await db.execute(
            "SELECT count(*) FROM (SELECT order_id FROM order_events GROUP BY order_id"
            " HAVING array_agg(status ORDER BY seq) = %s) x",
            (SIX,),
        )
        six = (await cur.fetchone() or (0,))[0]
        await db.close()
        await counter.stop()
    span = (last - first).total_seconds() if first and last else wall
    return {
        "scenario": label,
        "orders": total,
        "symbols": symbols,
        "setup_s": round(setup_s, 2),
        "filled": filled,
        "orders_with_all_six_events": six,
        "events_stored": events,
        "events_published": counter.events,
        "orders_per_s": round(filled / max(1e-9, span), 1),
        "events_per_s": round((events - total) / max(1e-9, span), 1),
        "span_s": round(span, 2),
        "peak_in_flight": inflight_peak,
        "peak_held_by_workers": held_peak,
        "rss_kb": {k: {"first": v[0], "peak": max(v), "last": v[-1]} for k, v in rss.items() if v},
        **({"waves": per_wave} if waves > 1 else {}),
    }


# --------------------------------------------------------------------------- relay


# Each publisher run writes a shard log of its own, offsets from 1 (the relay hands each
# shard's events on in offset order): shards no engine process writes.
_BENCH_SHARDS = itertools.count(1000)


def _publisher(
    channel: str,
    n: int,
    rate: float,
    clients: list[str],
    batch: int,
    start_at: float,
    shard: int,
) -> None:
    """Process: publish `n` order:update events to `clients` round robin, in frames of
    `batch` events (the worker's format, at offsets 1..n of `shard`), flat out or at `rate`
    events/s."""
    r = redis.Redis.from_url(eng.REDIS_URL)
    seq: dict[int, int] = {}
    orders = [str(uuid.uuid4()) for _ in range(len(clients))]
    while time.monotonic() < start_at:
        time.sleep(0.001)
    t0 = time.monotonic()
    sent = 0
    pipe = r.pipeline(transaction=False)
    while sent < n:
        if rate:
            due = min(n, int((time.monotonic() - t0) * rate) + 1)
            if due <= sent:
                time.sleep(0.0005)
                continue
            k = min(due - sent, batch)
        else:
            k = min(n - sent, batch)
        events = []
        for j in range(sent, sent + k):
            c = j % len(clients)
            s = seq[c] = seq.get(c, 0) + 1
            events.append(
                bare.event_frame(clients[c], orders[c], s, j + 1, time.monotonic_ns(), shard)
            )
        bare.publish_events(pipe, channel, events)
        sent += k
        if not rate and len(pipe) < 64:
            continue
        pipe.execute()
    pipe.execute()
    r.close()


async def relay_measure(
    ws: str, channel: str, args: argparse.Namespace, label: str
) -> dict[str, Any]:
    clients = [f"relay-{uuid.uuid4().hex[:6]}-{i}" for i in range(args.relay_clients)]
    lat: list[float] = []
    times: list[float] = []
    expected = {"n": 0}

    def on_message(raw: bytes, t: float) -> None:
        times.append(t)
        i = raw.find(b'"txHash":"')
        if i >= 0:
            j = raw.find(b'"', i + 10)
            lat.append(time.monotonic() - int(raw[i + 10 : j]) / 1e9)

    readers = []
    for lo in range(0, len(clients), 100):
        readers += await asyncio.gather(
            *(ws_connect(f"{ws}/ws?clientId={c}", on_message) for c in clients[lo : lo + 100])
        )
    out: dict[str, Any] = {"scenario": label, "clients": len(clients)}
    ctx = mp.get_context("fork")
    for phase, n, rate in (
        ("max", args.relay_n, 0.0),
        ("paced", int(args.relay_rate * 5), args.relay_rate),
    ):
        lat.clear()
        times.clear()
        expected["n"] = n
        start_at = time.monotonic() + 0.5
        p = ctx.Process(
            target=_publisher,
            args=(channel, n, rate, clients, 64 if not rate else 16, start_at, next(_BENCH_SHARDS)),
        )
        p.start()
        prog = Progress(f"{label}:{phase}", n, not args.quiet)
        deadline = time.monotonic() + args.timeout
        last_count, still = -1, 0
        while len(times) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            prog.update(len(times))
            if len(times) == last_count and not p.is_alive():
                still += 1
                if still > 10:
                    break
            else:
                still = 0
            last_count = len(times)
        prog.update(len(times), force=True)
        prog.close()
        await asyncio.get_running_loop().run_in_executor(None, p.join)
        span = (max(times) - min(times)) if len(times) > 1 else float("nan")
        out[phase] = {
            "published": n,
            "delivered": len(times),
            "rate": rate or None,
            "messages_per_s": round(len(times) / span, 1) if span == span and span > 0 else None,
            "publish_to_client_ms": percentiles_ms(lat, (50, 90, 99, 99.9)),
        }
        await asyncio.sleep(0.5)
    for r in readers:
        r.close()
    return out


# --------------------------------------------------------------------------- orchestration


async def scenario_rest(args: argparse.Namespace, workdir: Path, rate: float) -> dict[str, Any]:
    a = argparse.Namespace(**{**vars(args), "rate": rate})
    if args.url:
        return await rest_run(a, args.url, args.ws)
    with eng.fresh(args.keep) as f:
        env = eng.engine_env(f, parse_env(args.env))
        with eng.start(env, workdir, "up", args.engine_dir) as e:
            profile = start_profiles(args, e, f"rest-{rate:g}")
            try:
                out = await rest_run(a, e.http, e.ws)
            finally:
                stop_profiles(profile)
            out["cpu_s"] = {k: round(eng.cpu_seconds(p), 1) for k, p in e.pids().items()}
    return out


async def scenario_relay(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with eng.fresh(args.keep) as f:
        env = eng.engine_env(f, parse_env(args.env))
        with eng.start(env, workdir, "up", args.engine_dir) as e:
            profile = start_profiles(args, e, "relay")
            try:
                return await relay_measure(e.ws, f"{f.prefix}:events", args, "relay")
            finally:
                stop_profiles(profile)


def start_profiles(args: argparse.Namespace, e: eng.Engine, name: str) -> list[Any]:
    """py-spy record of every engine process while the scenario runs (--profile DIR)."""
    if not args.profile:
        return []
    import subprocess

    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    procs = []
    for pname, pid in e.pids().items():
        procs.append(
            subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "-p",
                    str(pid),
                    "-r",
                    "200",
                    "--nonblocking",
                    "-f",
                    "raw",
                    "-o",
                    str(out / f"{name}-{pname}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return procs


def stop_profiles(procs: list[Any]) -> None:
    import signal

    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        with contextlib.suppress(Exception):
            p.wait(timeout=30)


def parse_env(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 2)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    scen = args.scenario
    result: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(),
        "engine": {},
        "baseline": {},
    }
    E, B = result["engine"], result["baseline"]
    if scen in ("rest", "all"):
        E["rest"] = await scenario_rest(args, workdir, args.rate)
        if args.baseline:
            B["rest"] = await bare.http_run(args, args.rate, send_orders)
    if scen == "all":
        E["rest_1000"] = await scenario_rest(args, workdir, 1000.0)
        if args.baseline:
            B["rest_1000"] = await bare.http_run(args, 1000.0, send_orders)
    if scen in ("queued", "all"):
        E["queued"] = await queued_run(
            argparse.Namespace(**{**vars(args), "n": args.queued_n or args.n}),
            workdir,
            parse_env(args.env),
        )
        if args.baseline:
            B["queued"] = await bare.stream_run(args, args.queued_n or args.n)
    if scen in ("relay", "all"):
        E["relay"] = await scenario_relay(args, workdir)
        if args.baseline:
            B["relay"] = await bare.relay_run(args, relay_measure)
    if scen == "inflight" or (scen == "all" and args.inflight_n):
        n = args.inflight_n or args.n
        E["inflight"] = await queued_run(
            argparse.Namespace(**{**vars(args), "n": n}),
            workdir,
            {
                **parse_env(args.env),
                "MOCK_QUOTE_LATENCY_MS": "200",
                "MOCK_SWAP_LATENCY_MS": "2000-3000",
                "QUEUE_CONCURRENCY": str(n + 1000),
            },
            label="inflight",
            waves=args.inflight_waves,
        )
    result["figures"] = figures(E, B)
    return result


def figures(E: dict[str, Any], B: dict[str, Any]) -> list[dict[str, Any]]:
    """(target, engine, baseline, ratio) rows."""
    rows: list[dict[str, Any]] = []

    def add(target: str, unit: str, e: Any, b: Any, goal: str) -> None:
        rows.append(
            {
                "target": target,
                "goal": goal,
                "unit": unit,
                "engine": e,
                "baseline": b,
                "ratio": ratio(e, b),
            }
        )

    g = lambda d, *ks: _get(d, ks)  # noqa: E731
    if "rest" in E:
        add(
            "REST accepted (flat out)",
            "orders/s",
            g(E, "rest", "accepted_per_s"),
            g(B, "rest", "accepted_per_s"),
            ">= 5,000",
        )
        add(
            "REST accept p99 (flat out)",
            "ms",
            g(E, "rest", "accept_ms", "p99"),
            g(B, "rest", "accept_ms", "p99"),
            "",
        )
        add("REST filled (flat out)", "orders/s", g(E, "rest", "filled_per_s"), None, "")
    if "rest_1000" in E:
        add(
            "REST accept p99 at 1,000/s",
            "ms",
            g(E, "rest_1000", "accept_ms", "p99"),
            g(B, "rest_1000", "accept_ms", "p99"),
            "< 10",
        )
        add(
            "submit->filled p99 at 1,000/s",
            "ms",
            g(E, "rest_1000", "submit_to_filled_ms", "p99"),
            None,
            "< 50",
        )
    if "queued" in E:
        add(
            "engine, orders queued",
            "orders/s",
            g(E, "queued", "orders_per_s"),
            g(B, "queued", "orders_per_s"),
            ">= 10,000",
        )
        add(
            "engine, orders queued",
            "events/s",
            g(E, "queued", "events_per_s"),
            g(B, "queued", "events_per_s"),
            "",
        )
    if "relay" in E:
        add(
            "relay to 1,000 clients",
            "messages/s",
            g(E, "relay", "max", "messages_per_s"),
            g(B, "relay", "max", "messages_per_s"),
            ">= 40,000",
        )
        add(
            "relay p99 at paced rate",
            "ms",
            g(E, "relay", "paced", "publish_to_client_ms", "p99"),
            g(B, "relay", "paced", "publish_to_client_ms", "p99"),
            "< 5",
        )
    if "inflight" in E:
        add(
            "held by workers at brief latency",
            "orders",
            g(E, "inflight", "peak_held_by_workers"),
            None,
            ">= 50,000",
        )
        add(
            "in flight (stored) at brief lat.",
            "orders",
            g(E, "inflight", "peak_in_flight"),
            None,
            "",
        )
    return rows


def _get(d: Any, keys: tuple[str, ...]) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def print_figures(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'target':<34} {'unit':<11} {'engine':>10} {'baseline':>10} {'ratio':>6}  goal")
    for r in rows:

        def fmt(v: Any) -> str:
            return "-" if v is None else f"{v:,.1f}" if isinstance(v, float) else f"{v:,}"

        print(
            f"{r['target']:<34} {r['unit']:<11} {fmt(r['engine']):>10} {fmt(r['baseline']):>10}"
            f" {fmt(r['ratio']):>6}  {r['goal']}"
        )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scenario", choices=("rest", "queued", "relay", "inflight", "all"), default="rest"
    )
    p.add_argument("--url", help="a running engine's API (REST only); default: start one")
    p.add_argument("--ws", default="ws://127.0.0.1:3001", help="its relay, with --url")
    p.add_argument("-n", type=int, default=2000, help="orders to send")
    p.add_argument("--rate", type=float, default=0, help="orders/s (0: as fast as possible)")
    p.add_argument("--connections", type=int, default=64, help="HTTP connections")
    p.add_argument("--clients", type=int, default=50, help="WebSocket clients (REST)")
    p.add_argument("--symbol", default="SOL/USDC")
    p.add_argument("--amount", default="0.01")
    p.add_argument(
        "--queued-n", type=int, default=0, help="orders of the queued scenario (default -n)"
    )
    p.add_argument(
        "--queued-symbols",
        default="SOL/USDC,ETH/USDT",
        help="markets of the queued scenario (SOL/USDC and ETH/USDT: one per worker)",
    )
    p.add_argument("--relay-clients", type=int, default=1000)
    p.add_argument("--relay-n", type=int, default=100_000, help="events published flat out")
    p.add_argument("--relay-rate", type=float, default=5000, help="paced events/s")
    p.add_argument("--inflight-n", type=int, default=0, help="orders of the inflight scenario")
    p.add_argument(
        "--inflight-waves",
        type=int,
        default=1,
        help="inflight: that many waves of --inflight-n orders through the same workers",
    )
    p.add_argument("--baseline", action="store_true", help="also run the bare-library twins")
    p.add_argument("--env", action="append", help="KEY=VALUE for the engine (repeatable)")
    p.add_argument("--engine-dir", type=Path, help="run the engine from this source tree")
    p.add_argument("--profile", help="py-spy record every engine process into this folder")
    p.add_argument("--timeout", type=float, default=180)
    p.add_argument("--keep", action="store_true", help="keep the database and Redis keys")
    p.add_argument("--out", type=Path, help="result file (default bench/results/load-*.json)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def main(argv: list[str] | None = None, args: argparse.Namespace | None = None) -> int:
    if args is None:
        args = parser().parse_args(argv)
    result = asyncio.run(run(args))
    result["args"] = {
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k not in ("func",)
    }
    RESULTS.mkdir(exist_ok=True)
    out = args.out or RESULTS / f"load-{args.scenario}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(
        json.dumps(
            {"engine": result["engine"], "baseline": result["baseline"]}, indent=2, default=str
        )
    )
    print_figures(result["figures"])
    print(f"written to {out}", file=sys.stderr)
    rest = result["engine"].get("rest")
    if rest and (rest["statuses"].get("filled", 0) != rest["accepted"] or rest["errors"]):
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
