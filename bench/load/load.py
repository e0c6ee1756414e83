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
  wrk       REST single orders from wrk -t1 -c--connections for --wrk-seconds (Debian's wrk):
            accepted/s, wrk's latency, orders filled meanwhile, per-process CPU
            (bench/load/wrk.py; its bare twin: the same wrk run on the bare HTTP twin).
  batch     N market orders over POST /orders/batch, --batch-size (100) a request from
            --batch-connections (8); the same checks as rest, and every order persisted
            (bench/load/batch.py; its bare twin: one INSERT of the batch + one XADD pipeline).
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
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.load import baseline as bare
from bench.load import engine as eng
from bench.load.batch import add_batch_arguments, bare_batch, scenario_batch
from bench.load.clients import (
    HttpConnection,
    Progress,
    message_payload,
    percentiles_ms,
    ws_connect,
)
from bench.load.queued import (
    queued_run,
)
from bench.load.relay import (
    relay_measure,
    scenario_relay,
)
from bench.load.report import (
    figures,
    print_figures,
)
from bench.load.runs import (
    parse_env,
    start_profiles,
    stop_profiles,
)
from bench.load.wrk import add_wrk_arguments, bare_wrk, scenario_wrk
from engine_core import fsm

RESULTS = Path(__file__).parents[1] / "results"
ORDER_PATH = "/api/orders/execute"


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
        if p["status"] in fsm.TERMINAL and oid not in finals:
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


# --------------------------------------------------------------------------- relay


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
            out.update(eng.cpu_report(e))
    return out


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
    if scen == "wrk":
        E["wrk"] = await scenario_wrk(args, workdir)
        if args.baseline:
            B["wrk"] = await bare_wrk(args)
    if scen == "all":
        E["rest_1000"] = await scenario_rest(args, workdir, 1000.0)
        if args.baseline:
            B["rest_1000"] = await bare.http_run(args, 1000.0, send_orders)
    if scen in ("batch", "all"):
        E["batch"] = await scenario_batch(args, workdir)
        if args.baseline:
            B["batch"] = await bare_batch(args)
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
        "--scenario",
        choices=("rest", "wrk", "batch", "queued", "relay", "inflight", "all"),
        default="rest",
    )
    add_batch_arguments(p)  # --batch-size, --batch-connections: bench/load/batch.py
    add_wrk_arguments(p)  # --wrk-seconds: bench/load/wrk.py
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
    for name in ("rest", "batch"):
        got = result["engine"].get(name)
        if got and (got["statuses"].get("filled", 0) != got["accepted"] or got["errors"]):
            return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
