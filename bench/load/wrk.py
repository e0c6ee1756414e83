"""REST single orders driven by wrk (https://github.com/wg/wrk, Debian's `wrk`), the engine and
its bare twin (bench/load/baseline.py's Falcon+gunicorn INSERT+XADD) in the same run:

    python -m bench.load --scenario wrk --baseline          # wrk -t1 -c64 -d10s, market orders

wrk is a C load generator, so the client costs little of the 2 cores the server shares;
its Lua script (WRK_SCRIPT) POSTs a market order per request, alternating sides, over
--connections keep-alive connections for --wrk-seconds. Reported: accepted/s (201s),
latency p50/p99 as wrk measures it, non-2xx and socket errors, the orders filled while wrk
ran (filled/s beside accepted/s), the time the workers took to finish the rest, and each
engine process's CPU seconds (the API processes' split shows whether connections spread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.load import baseline as bare
from bench.load import engine as eng
from bench.load.runs import parse_env, start_profiles, stop_profiles
from engine_core import fsm

ORDER_PATH = "/api/orders/execute"

# %(...)s are filled in by script(); the rest is Lua. done() prints one JSON line.
WRK_SCRIPT = """
local counter = 0
local tag = "%(tag)s"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  counter = counter + 1
  local side = (counter %% 2 == 0) and "buy" or "sell"
  local body = string.format(
    '{"clientId":"%%s-%%d","symbol":"%(symbol)s","side":"%%s","amount":"%(amount)s",'
    .. '"slippageBps":500}', tag, counter %% %(clients)d, side)
  return wrk.format(nil, "%(path)s", nil, body)
end

done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"status_errors":%%d,"connect_errors":%%d,'
    .. '"read_errors":%%d,"write_errors":%%d,"timeouts":%%d,"p50_us":%%d,"p99_us":%%d}\\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def script(tag: str, symbol: str, amount: str, clients: int) -> str:
    return WRK_SCRIPT % {
        "tag": tag,
        "symbol": symbol,
        "amount": amount,
        "clients": max(1, clients),
        "path": ORDER_PATH,
    }


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    return found


def run_wrk(args: argparse.Namespace, url: str, tag: str) -> dict[str, Any]:
    """One wrk run against `url`; its figures (accepted = requests answered 2xx)."""
    lua = Path(tempfile.mkdtemp(prefix="bench-wrk-")) / "orders.lua"
    lua.write_text(script(tag, args.symbol, args.amount, args.clients))
    cmd = [
        wrk_binary(),
        "-t1",
        f"-c{args.connections}",
        f"-d{args.wrk_seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON "))
    w = json.loads(line.removeprefix("WRKJSON "))
    seconds = w["duration_us"] / 1e6
    errors = w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
    accepted = w["requests"] - w["status_errors"]
    return {
        "command": " ".join(cmd[:-3] + ["-s", "orders.lua", url]),
        "seconds": round(seconds, 2),
        "accepted": accepted,
        "accepted_per_s": round(accepted / seconds, 1),
        "non_2xx": w["status_errors"],
        "socket_errors": errors,
        "latency_ms": {"p50": round(w["p50_us"] / 1000, 2), "p99": round(w["p99_us"] / 1000, 2)},
    }


def _count(dsn: str, sql: str, params: tuple[Any, ...] = ()) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


async def scenario_wrk(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with eng.fresh(args.keep) as f:
        env = eng.engine_env(f, parse_env(args.env))
        with eng.start(env, workdir, "up", args.engine_dir) as e:
            profile = start_profiles(args, e, "wrk")
            try:
                out = await asyncio.to_thread(run_wrk, args, e.http, f"wrk-{f.prefix[-6:]}")
            finally:
                stop_profiles(profile)
            filled = _count(f.database_url, "SELECT count(*) FROM orders WHERE status = 'filled'")
            out["filled_during"] = filled
            out["filled_per_s"] = round(filled / out["seconds"], 1)
            out["filled_of_accepted"] = round(filled / max(1, out["accepted"]), 3)
            t0 = time.perf_counter()
            deadline = t0 + args.timeout
            final = "SELECT count(*) FROM orders WHERE status = ANY(%s)"
            terminal = (sorted(fsm.TERMINAL),)
            while time.perf_counter() < deadline:
                done = _count(f.database_url, final, terminal)
                if done >= out["accepted"]:
                    break
                await asyncio.sleep(0.2)
            out["drain_s"] = round(time.perf_counter() - t0, 2)
            out["final"] = _count(f.database_url, final, terminal)
            out["persisted"] = _count(f.database_url, "SELECT count(*) FROM orders")
            out.update(eng.cpu_report(e))
    return out


async def bare_wrk(args: argparse.Namespace) -> dict[str, Any]:
    with bare.bare_http(args) as (url, pid):
        out = await asyncio.to_thread(run_wrk, args, url, "wrk-bare")
        workers = eng.descendants(pid)
        out["cpu_s"] = {f"api-{i}": round(eng.cpu_seconds(p), 1) for i, p in enumerate(workers)}
    out["scenario"] = "bare-http"
    return out


def add_wrk_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wrk-seconds", type=int, default=10, help="duration of a wrk run")
