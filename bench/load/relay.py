"""The relay scenario: many WebSocket clients, events published straight to pub/sub at a
pace, and the fan-out rate and latency they saw."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from bench.load import baseline as bare
from bench.load import engine as eng
from bench.load.clients import (
    Progress,
    percentiles_ms,
    ws_connect,
)
from bench.load.runs import parse_env, start_profiles, stop_profiles


def _publisher(
    channel: str, n: int, rate: float, clients: list[str], batch: int, start_at: float
) -> None:
    """Process: publish `n` order:update events to `clients` round robin, in frames of
    `batch` events (the worker's format), flat out or at `rate` events/s."""
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
            events.append(bare.event_frame(clients[c], orders[c], s, j + 1, time.monotonic_ns()))
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
            target=_publisher, args=(channel, n, rate, clients, 64 if not rate else 16, start_at)
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


async def scenario_relay(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with eng.fresh(args.keep) as f:
        env = eng.engine_env(f, parse_env(args.env))
        with eng.start(env, workdir, "up", args.engine_dir) as e:
            profile = start_profiles(args, e, "relay")
            try:
                return await relay_measure(e.ws, f"{f.prefix}:events", args, "relay")
            finally:
                stop_profiles(profile)
