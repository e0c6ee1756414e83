"""Chaos runs: the real engine (`order-engine up`) under a load of orders while its processes
and servers are broken, then every promise checked on what PostgreSQL holds
(bench/chaos/invariants.py).

    python -m bench.chaos                       # 2,000 orders, every scenario
    python -m bench.chaos -n 500 -s kill9 -s redis

Scenarios (each on a fresh database of a throwaway PostgreSQL and a throwaway redis-server,
never the shared servers):

- `kill9`: `kill -9` of the worker process that owns the most markets, a third of the way
  into the load; the supervisor restarts it and it resumes from PostgreSQL and its own
  pending stream entries.
- `redis`: the redis-server killed and started again empty on the same port.
- `postgres`: PostgreSQL stopped (fast shutdown) for 10 s, then started again.
- `sigterm`: SIGTERM to the whole engine (it must exit 0), then `order-engine up` again.
- `second_up`: a second `order-engine up` started against the same servers (its workers
  join the pool and take their share of the shards by lease), then, a few seconds later,
  its whole process group killed with `kill -9` (a host lost): the first engine's workers
  take the shards back once the leases expire (`takeover_s`), fenced in PostgreSQL.
- `worker_host`: two hosts as two process groups: the engine (API, relay, workers) and a
  second host running only `order-engine worker`; once that host holds shards, its whole
  group is killed with `kill -9`.
- `sigstop`: the busiest worker paused with SIGSTOP (`--pause-s`, 30 s), then SIGCONT: its
  shards move once its leases expire; resumed, it must write nothing to them.

With `--cluster`, every scenario but `redis` runs on a local Redis Cluster of three masters
(REDIS_CLUSTER=1) instead of one redis-server.

The load: market orders and IOC limit orders on the three launched markets, sent at a fixed
rate by 16 HTTP connections, each with a clientOrderId so a request that met an outage is
simply sent again (answered 201, or 200 with the same order). Results go to
bench/results/chaos-*.json. Needs Debian's PostgreSQL 15 binaries and redis-server; started
as root, PostgreSQL runs as the `postgres` user.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench.chaos.engine_run import SHARDS, WORKERS, EngineRun
from bench.chaos.hosts import second_up, sigstop, worker_host
from bench.chaos.invariants import check_invariants, final_count, pool_base_totals
from bench.chaos.result import Result
from bench.chaos.servers import (
    ThrowawayPostgres,
    ThrowawayRedis,
    ThrowawayRedisCluster,
    servers,
)
from bench.chaos.traffic import (
    MARKETS,
    Load,
    order_body,
    start_probes,
)
from bench.chaos.watchers import (
    OrderWatcher,
    WsWatcher,
    orders_ws_check,
    ws_check,
)
from service.domain.markets import shard_of

RESULTS = Path(__file__).parents[1] / "results"
SCENARIOS = ("kill9", "redis", "postgres", "sigterm", "second_up", "worker_host", "sigstop")
NOT_ON_A_CLUSTER = ("redis",)  # a cluster node restarted empty is another fault
LIVE_EXECUTING = ("routing", "building", "submitted", "confirmed")


# -- scenarios --
def _count(dsn: str, statuses: tuple[str, ...]) -> int:
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            row = conn.execute(
                "SELECT count(*) FROM orders WHERE status = ANY(%s)", (list(statuses),)
            ).fetchone()
            return int(row[0]) if row else 0
    except psycopg.OperationalError:
        return -1


def _busiest_worker() -> int:
    owners = [shard_of(m[0], SHARDS) % WORKERS for m in MARKETS]
    return max(range(WORKERS), key=owners.count)


def wait_all_final(dsn: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(dsn, connect_timeout=2) as conn:
                total, final = final_count(conn)
            if total and total == final:
                return True
        except psycopg.OperationalError:
            pass
        time.sleep(0.1)
    return False


def run_scenario(
    scenario: str,
    n: int,
    pg: ThrowawayPostgres,
    rd: ThrowawayRedis | ThrowawayRedisCluster,
    workdir: Path,
    *,
    rate: float = 400,
    drain_timeout: float = 120,
    pg_down_s: float = 10,
    pause_s: float = 30,
    env: dict[str, str] | None = None,
) -> Result:
    """One scenario on a fresh database; the break comes once a third of the orders are
    sent. Returns the counts and the invariant report."""
    assert scenario in SCENARIOS, scenario
    workdir.mkdir(parents=True, exist_ok=True)
    dsn = pg.create_database(f"chaos_{scenario}_{uuid.uuid4().hex[:8]}")
    rd.flush()
    cluster = isinstance(rd, ThrowawayRedisCluster)
    assert not (cluster and scenario in NOT_ON_A_CLUSTER), scenario
    run = EngineRun(
        workdir,
        {
            "DATABASE_URL": dsn,
            "REDIS_URL": rd.url,
            "REDIS_CLUSTER": "1" if cluster else "0",
            "REDIS_PREFIX": "oe",
            **(env or {}),
        },
    )
    notes: dict[str, Any] = {}
    t0 = time.monotonic()
    engine = run.start()
    with psycopg.connect(dsn) as conn:
        pools_before = pool_base_totals(conn)
    load = Load(run.http, n, rate)
    watched = order_body(0, load.run_id)["clientId"]
    watcher = WsWatcher(engine.ws, watched)  # one client's /ws stream, all run long
    watcher.start()
    order_watcher = OrderWatcher(engine.ws)  # every 15th order on its own socket
    order_watcher.start()
    load.on_accept = lambda i, oid: order_watcher.watch(oid) if i % 15 == 7 else None
    broke = threading.Event()
    executing = [0, 0]
    breaker: threading.Thread | None = None

    def do_break() -> None:
        executing[:] = [_count(dsn, LIVE_EXECUTING), _count(dsn, ("pending",))]
        if scenario == "kill9":
            index = _busiest_worker()
            pid = run.worker_pid(index)
            assert pid is not None, "worker process not found"
            os.kill(pid, signal.SIGKILL)
            notes["killed_worker"] = index
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                new = run.worker_pid(index)
                if new is not None and new != pid:
                    notes["restarted_in_s"] = round(30 - (deadline - time.monotonic()), 2)
                    break
                time.sleep(0.05)
        elif scenario == "redis":
            assert isinstance(rd, ThrowawayRedis)
            rd.kill()
            # an order accepted while Redis is down: committed, queued by the sweeper later
            probes = start_probes(run.http, load.run_id, notes)
            time.sleep(1.0)
            rd.start()
            probes.join()
        elif scenario == "postgres":
            pg.stop()
            probes = start_probes(run.http, load.run_id, notes)
            time.sleep(pg_down_s)
            pg.start()
            probes.join()
        elif scenario == "second_up":
            second_up(run, workdir / "second", notes)
        elif scenario == "worker_host":
            worker_host(run, workdir / "worker-host", notes)
        elif scenario == "sigstop":
            index = _busiest_worker()
            pid = run.worker_pid(index)
            assert pid is not None, "worker process not found"
            notes["paused_worker"] = index
            sigstop(run, pid, pause_s, notes)
        elif scenario == "sigterm":
            code, took = run.sigterm()
            notes["exit_code"] = code
            notes["stop_s"] = round(took, 2)
            # finished or handed back: nothing left between routing and confirmed
            notes["executing_after_stop"] = _count(dsn, LIVE_EXECUTING)
            notes["pending_after_stop"] = _count(dsn, ("pending",))
            run.start()

    def progress(sent: int) -> None:
        nonlocal breaker
        if sent >= n // 3 and not broke.is_set():
            broke.set()
            breaker = threading.Thread(target=do_break, daemon=True)
            breaker.start()

    load.run(progress)
    if breaker is not None:
        breaker.join()
    sent_done = load.last_accept or time.monotonic()
    drained = wait_all_final(dsn, drain_timeout)
    drain_s = time.monotonic() - sent_done
    report = check_invariants(dsn, pools_before)
    notes["ws"] = ws_check(watcher, dsn, watched)
    notes["ws_orders"] = orders_ws_check(order_watcher, dsn)
    watcher.stop()
    order_watcher.stop()
    with psycopg.connect(dsn) as conn:
        ids = {str(r[0]) for r in conn.execute("SELECT id FROM orders")}
        probe_id = f"{load.run_id}-probe"
        notes["probe_stored"] = bool(
            conn.execute("SELECT 1 FROM orders WHERE client_order_id = %s", (probe_id,)).fetchone()
        )
    notes["answers"] = load.answers
    notes["retries"] = load.retries
    notes["drained"] = drained
    missing = [oid for oid in load.accepted.values() if oid not in ids]
    if missing:
        notes["accepted_not_in_db"] = len(missing)
    code, took = run.sigterm()
    notes["final_stop"] = {"exit_code": code, "seconds": round(took, 2)}
    if scenario == "sigterm" and notes.get("exit_code") != 0:
        report.note(f"engine exited {notes.get('exit_code')} on SIGTERM")
    if code != 0:
        report.note(f"engine exited {code} on the final SIGTERM")
    total = time.monotonic() - t0
    return Result(
        scenario,
        n,
        len(load.accepted),
        len(ids),
        executing[0],
        executing[1],
        drain_s,
        total,
        report,
        notes,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    p.add_argument("-n", type=int, default=2000, help="orders per scenario")
    p.add_argument("-s", "--scenario", action="append", choices=SCENARIOS)
    p.add_argument("--rate", type=float, default=400, help="orders sent per second")
    p.add_argument("--swap-ms", default="50-150", help="MOCK_SWAP_LATENCY_MS")
    p.add_argument("--quote-ms", default="10", help="MOCK_QUOTE_LATENCY_MS")
    p.add_argument(
        "--blockhash-ms", default="2000", help="MOCK_BLOCKHASH_VALIDITY_MS (above quote + swap)"
    )
    p.add_argument("--pause-s", type=float, default=30, help="how long `sigstop` pauses a worker")
    p.add_argument(
        "--cluster", action="store_true", help="on a local Redis Cluster of three masters"
    )
    p.add_argument("--keep", type=Path, help="keep servers' data and engine logs here")
    args = p.parse_args(argv)
    scenarios = args.scenario or [
        s for s in SCENARIOS if not (args.cluster and s in NOT_ON_A_CLUSTER)
    ]
    if args.cluster and set(scenarios) & set(NOT_ON_A_CLUSTER):
        p.error(f"not on a cluster: {', '.join(NOT_ON_A_CLUSTER)}")
    env = {
        "MOCK_SWAP_LATENCY_MS": args.swap_ms,
        "MOCK_QUOTE_LATENCY_MS": args.quote_ms,
        "MOCK_BLOCKHASH_VALIDITY_MS": args.blockhash_ms,
    }
    results = []
    with servers(args.keep, cluster=args.cluster) as (pg, rd):
        workdir = Path(args.keep or tempfile.mkdtemp(prefix="chaos-engine-"))
        for scenario in scenarios:
            print(f"-- {scenario}: {args.n} orders", file=sys.stderr)
            res = run_scenario(
                scenario,
                args.n,
                pg,
                rd,
                workdir / scenario,
                rate=args.rate,
                pause_s=args.pause_s,
                env=env,
            )
            print(json.dumps(res.summary(), indent=2), file=sys.stderr)
            results.append(res)
    RESULTS.mkdir(exist_ok=True)
    kind = "-cluster" if args.cluster else ""
    out = RESULTS / f"chaos{kind}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps([r.summary() for r in results], indent=2))
    print(
        f"{'scenario':11} {'orders':>6} {'final':>6} {'twice':>5} {'gaps':>4} {'fills':>5}"
        f" {'pools':>5} {'ws_bad':>6} {'at_break':>9} {'drain_s':>7} {'takeover':>8}  ok"
    )
    for r in results:
        rep = r.report
        print(
            f"{r.scenario:11} {rep.orders:6} {rep.final:6} {rep.executed_twice:5} "
            f"{rep.seq_gaps:4} {rep.fills_mismatch:5} {rep.pool_mismatch:5} "
            f"{r.notes['ws']['gaps_or_duplicates'] + r.notes['ws_orders']['gaps_or_duplicates']:6} "
            f"{r.executing_at_break:4}/{r.pending_at_break:<4} {r.drain_s:7.2f} "
            f"{r.notes.get('takeover_s') or '-':>8}  "
            f"{'yes' if r.ok else 'NO'}"
        )
    print(f"written to {out}", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
