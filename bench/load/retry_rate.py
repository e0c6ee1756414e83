"""How often market orders need more than one attempt on a ticking market.

    python -m bench.load.retry_rate                      # this tree's engine, 1,000 orders
    python -m bench.load.retry_rate --engine-dir /work/main --label before

Starts the engine at its default settings (simulator ticking every SIM_TICK_MS = 1 s, mock
quote 200 ms and swap 2-3 s, QUEUE_CONCURRENCY, MAX_ATTEMPTS as shipped) on a fresh
database and Redis prefix; only the per-client request limit is lifted so the run is not
refused. Sends N market orders (slippageBps default 50, i.e. none given) at --rate a
second, seeded sizes and sides over the launched markets, waits for all to be final, then
counts from PostgreSQL: orders, orders with more than one attempt, failed orders, and the
failed attempts by error. Prints one JSON line (and writes bench/results/retry_rate-*.json).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.load import engine as eng
from engine_core import fsm

# (symbol, smallest, largest amount in token units): small next to the pools (< 0.01 %)
SIZES = (("SOL/USDC", 0.05, 2.0), ("ETH/USDT", 0.005, 0.2), ("BONK/SOL", 50_000, 2_000_000))
FINAL = sorted(fsm.TERMINAL)


def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def orders(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        symbol, lo, hi = rng.choice(SIZES)
        amount = f"{rng.uniform(lo, hi):.4f}" if hi < 100 else str(rng.randint(int(lo), int(hi)))
        out.append(
            {
                "clientId": f"retry-{i % 20}",
                "symbol": symbol,
                "side": rng.choice(("buy", "sell")),
                "amount": amount,
                "type": "market",
            }
        )
    return out


def count(database_url: str, ids: list[str]) -> dict[str, Any]:
    with psycopg.connect(database_url) as conn:
        statuses: dict[str, int] = dict(
            conn.execute(
                "SELECT status, count(*) FROM orders WHERE id = ANY(%s::uuid[]) GROUP BY status",
                (ids,),
            ).fetchall()
        )
        attempts = conn.execute(
            "SELECT order_id, count(*) FROM attempts WHERE order_id = ANY(%s::uuid[])"
            " GROUP BY order_id",
            (ids,),
        ).fetchall()
        errors = conn.execute(
            "SELECT coalesce(error, '?'), count(*) FROM attempts"
            " WHERE order_id = ANY(%s::uuid[]) AND status = 'failed' GROUP BY 1",
            (ids,),
        ).fetchall()
    per_order = Counter(n for _, n in attempts)
    return {
        "orders": len(ids),
        "statuses": statuses,
        "retried": sum(1 for _, n in attempts if n > 1),
        "failed": statuses.get("failed", 0),
        "attempts_per_order": dict(sorted(per_order.items())),
        "failed_attempts_by_error": dict(errors),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    body = orders(args.n, args.seed)
    with eng.fresh() as f, tempfile.TemporaryDirectory() as tmp:
        env = eng.engine_env(f)
        for key in eng.FAST_ENV:  # the engine's defaults, not the load runs' fast settings
            env.pop(key, None)
        env.update({"RATE_LIMIT_PER_MIN": "100000", "LOG_LEVEL": "WARNING"})
        engine_dir = Path(args.engine_dir) if args.engine_dir else None
        eng.migrate(env, engine_dir)
        with eng.start(env, Path(tmp), engine_dir=engine_dir) as e:
            time.sleep(args.warmup)  # let the simulator tick the venues apart first
            ids, refused = [], Counter[int]()
            start = time.monotonic()
            for i, order in enumerate(body):
                delay = start + i / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                status, answer = post(e.http + "/orders", order)
                if status == 201:
                    ids.append(answer["id"])
                else:
                    refused[status] += 1
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                with psycopg.connect(f.database_url) as conn:
                    done = conn.execute(
                        "SELECT count(*) FROM orders WHERE id = ANY(%s::uuid[])"
                        " AND status = ANY(%s)",
                        (ids, FINAL),
                    ).fetchone()
                if done and done[0] == len(ids):
                    break
                time.sleep(1)
            result = count(f.database_url, ids)
    result.update(
        {
            "label": args.label,
            "engine_dir": args.engine_dir or ".",
            "refused": dict(refused),
            "rate": args.rate,
            "seed": args.seed,
            "seconds": round(time.monotonic() - start, 1),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("-n", type=int, default=1000)
    p.add_argument("--rate", type=float, default=4.0, help="orders a second")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of ticks before orders")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--engine-dir", help="run the engine of another source tree")
    p.add_argument("--label", default="this")
    p.add_argument("--out", default="bench/results")
    args = p.parse_args(argv)
    result = run(args)
    line = json.dumps(result, sort_keys=True)
    print(line)
    out = Path(args.out)
    if out.is_dir():
        (out / f"retry_rate-{args.label}.json").write_text(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
