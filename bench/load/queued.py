"""The queued scenario: orders inserted and appended to the streams in bulk, ahead of the
workers, then timed until every one is final (the workers' throughput alone)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
    Progress,
)
from bench.load.runs import SIX, start_profiles, stop_profiles
from bench.load.server_cpu import ServerCpu, cpu_per_order
from engine_core import fsm


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
        workers_cpu: dict[str, float] = {}
        async with ServerCpu(f.database_url) as server:
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
                            "SELECT count(*) FILTER (WHERE status = ANY(%s)),"
                            " count(*) FILTER (WHERE status = ANY(%s)) FROM orders",
                            (sorted(fsm.TERMINAL), sorted(fsm.LIVE)),
                        )
                        row = await cur.fetchone()
                        assert row is not None
                        done, live = row
                        inflight_peak = max(inflight_peak, live)
                        wave_held = max(wave_held, workers_holding(env["PROMETHEUS_MULTIPROC_DIR"]))
                        for name, pid in e.pids().items():
                            rss.setdefault(name, []).append(eng.rss_kb(pid))
                            workers_cpu[name] = eng.cpu_seconds(pid)
                        prog.update(done, f"in flight {live}")
                        if done >= args.n * (wave + 1):
                            break
                    held_peak = max(held_peak, wave_held)
                    per_wave.append(
                        {
                            "held_peak": wave_held,
                            "rss_kb_after": {n: eng.rss_kb(p) for n, p in e.pids().items()},
                        }
                    )
                await asyncio.sleep(0.5)  # the last publishes
                for name, pid in e.pids().items():
                    workers_cpu[name] = eng.cpu_seconds(pid)
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
        **cpu_per_order(workers_cpu, server.seconds, filled),
        "rss_kb": {k: {"first": v[0], "peak": max(v), "last": v[-1]} for k, v in rss.items() if v},
        **({"waves": per_wave} if waves > 1 else {}),
    }
