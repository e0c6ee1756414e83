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

The load: market orders and IOC limit orders on the three launched markets, sent at a fixed
rate by 16 HTTP connections, each with a clientOrderId so a request that met an outage is
simply sent again (answered 201, or 200 with the same order). Results go to
bench/results/chaos-*.json. Needs Debian's PostgreSQL 15 binaries and redis-server; started
as root, PostgreSQL runs as the `postgres` user.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import psycopg
import redis
from websockets.asyncio.client import connect

from bench.chaos.invariants import FINAL, Report, check_invariants, final_count, pool_base_totals
from service.domain.markets import shard_of
from tests.e2e.conftest import Engine, engine_command, free_port, wait_until_up

RESULTS = Path(__file__).parents[1] / "results"
SCENARIOS = ("kill9", "redis", "postgres", "sigterm")
PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")
WORKERS = 2
SHARDS = 8
LIVE_EXECUTING = ("routing", "building", "submitted", "confirmed")

# The engine's settings for every run: real (non-zero) latencies and seeded failures, so
# that orders are mid-flight when something breaks.
ENGINE_ENV = {
    "WORKERS": str(WORKERS),
    "API_WORKERS": "2",
    "SHARDS": str(SHARDS),
    "QUEUE_CONCURRENCY": "16",
    "QUEUE_RATE_LIMIT_MAX": "100000",
    "RATE_LIMIT_PER_MIN": "1000000",
    "MOCK_QUOTE_LATENCY_MS": "10",
    "MOCK_SWAP_LATENCY_MS": "50-150",
    "MOCK_FAILURE_RATE": "0.1",
    "MAX_ATTEMPTS": "3",
    "RETRY_BASE_MS": "50",
    "SWEEP_AFTER_MS": "2000",
    "CLAIM_IDLE_MS": "5000",
    "SIM_TICK_MS": "0",
    "SIM_SEED": "7",
    "LOG_LEVEL": "INFO",
}

MARKETS = (
    # symbol, amount, IOC buy limit, IOC sell limit
    ("SOL/USDC", "0.5", "200", "100"),
    ("ETH/USDT", "0.01", "4000", "2000"),
    ("BONK/SOL", "1000000", "0.0000003", "0.0000001"),
)


# -- throwaway servers --
def _redis_server() -> str:
    for candidate in ("/usr/bin/redis-server", shutil.which("redis-server")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise RuntimeError("redis-server not found")


def _pg_bin(name: str) -> str:
    for d in PG_BIN_DIRS:
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found")
    return found


class ThrowawayRedis:
    """A redis-server on a free port with no persistence: a restart starts it empty."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.workdir)],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("throwaway redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:  # SIGKILL: nothing saved, the next start is empty
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def flush(self) -> None:
        client = redis.Redis.from_url(self.url)
        client.flushall()
        client.close()


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary directory on a free port (as the `postgres`
    user when started as root, since root cannot run it)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "pgdata"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._user: dict[str, Any] = {}
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            self._user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        self.base = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._user:
            os.chown(self.workdir, self._user["user"], self._user["group"])
            os.chmod(self.workdir, 0o700)
            # the parents must be searchable by the postgres user
            for parent in self.workdir.parents:
                if str(parent) in ("/", tempfile.gettempdir()):
                    break
                os.chmod(parent, os.stat(parent).st_mode | 0o011)
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-sync", "--locale=C"],
            check=True, capture_output=True, **self._user,
        )  # fmt: skip

    def start(self) -> None:
        with (self.workdir / "postgres.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [_pg_bin("postgres"), "-D", str(self.data), "-p", str(self.port),
                 "-k", str(self.workdir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "max_connections=200"],
                stdout=log, stderr=subprocess.STDOUT, **self._user,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.base, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("throwaway PostgreSQL did not start") from None
                time.sleep(0.1)

    def stop(self, sig: int = signal.SIGINT) -> None:
        """SIGINT: fast shutdown (sessions are ended, what is committed stays)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=60)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def servers(workdir: Path | None = None) -> Iterator[tuple[ThrowawayPostgres, ThrowawayRedis]]:
    tmp = Path(workdir or tempfile.mkdtemp(prefix="chaos-"))
    pg, rd = ThrowawayPostgres(tmp / "pg"), ThrowawayRedis(tmp / "redis")
    try:
        pg.init()
        pg.start()
        rd.start()
        yield pg, rd
    finally:
        rd.kill()
        pg.stop()
        if workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)


# -- the engine --
class EngineRun:
    """`order-engine up` on fixed ports (kept across a restart, so clients just retry)."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.port, self.ws_port = free_port(), free_port()
        self.env = {
            **os.environ,
            **ENGINE_ENV,
            **env,
            "PORT": str(self.port),
            "WS_PORT": str(self.ws_port),
            "HOST": "127.0.0.1",
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
        }
        self.http = f"http://127.0.0.1:{self.port}"
        self.engine: Engine | None = None
        self.starts = 0

    def start(self) -> Engine:
        self.starts += 1
        log = self.workdir / f"engine-{self.starts}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                engine_command(), env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.engine = Engine(self.http, f"ws://127.0.0.1:{self.ws_port}", proc, log)
        wait_until_up(self.engine)
        return self.engine

    def sigterm(self, timeout: float = 90) -> tuple[int, float]:
        """SIGTERM the supervisor; (exit code, seconds to exit)."""
        assert self.engine is not None
        t0 = time.monotonic()
        self.engine.proc.send_signal(signal.SIGTERM)
        try:
            code = self.engine.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.engine.proc.kill()
            self.engine.proc.wait()
            code = -9
        return code, time.monotonic() - t0

    def worker_pid(self, index: int) -> int | None:
        assert self.engine is not None
        out = subprocess.run(
            ["pgrep", "-P", str(self.engine.proc.pid), "-f", f"service worker --slot {index}$"],
            capture_output=True,
            text=True,
        ).stdout.split()
        return int(out[0]) if out else None

    def logs(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("engine-*.log"))
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


class WsWatcher:
    """One client's /ws socket for the whole run, in a thread of its own: every message it
    gets, reconnecting with afterEventId (the last one it saw) when the socket drops, as a
    client does when the engine restarts."""

    def __init__(self, ws_url: str, client_id: str) -> None:
        self.url = f"{ws_url}/ws?clientId={client_id}"
        self.events: list[dict[str, Any]] = []
        self.reconnects = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("WebSocket watcher could not connect")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    async def _main(self) -> None:
        after: int | None = None
        while not self._stop.is_set():
            url = self.url if after is None else f"{self.url}&afterEventId={after}"
            try:
                async with connect(url, max_size=None, open_timeout=5) as ws:
                    self._ready.set()
                    while not self._stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.25)
                        except TimeoutError:
                            continue
                        payload = json.loads(raw)["payload"]
                        self.events.append(payload)
                        after = max(after or 0, int(payload["eventId"]))
            except Exception:  # noqa: BLE001 - the relay restarting: connect again
                if self._stop.is_set():
                    return
                self.reconnects += 1
                await asyncio.sleep(0.2)

    def per_order(self) -> dict[str, list[int]]:
        seqs: dict[str, list[int]] = {}
        for p in list(self.events):
            seqs.setdefault(p["id"], []).append(int(p["seq"]))
        return seqs


class OrderWatcher:
    """One /api/orders/execute?orderId= socket per sampled order, opened right after its
    POST, followed until a final status; when the socket drops it connects again with
    fromSeq = the last seq it got, as a client does."""

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.seqs: dict[str, list[int]] = {}
        self.reconnects = 0
        self._stopping = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._futures: list[Any] = []

    def start(self) -> None:
        self._thread.start()

    def watch(self, order_id: str) -> None:
        self._futures.append(asyncio.run_coroutine_threadsafe(self._follow(order_id), self._loop))

    def stop(self) -> None:
        self._stopping = True
        for f in self._futures:
            f.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    async def _follow(self, order_id: str) -> None:
        seqs = self.seqs.setdefault(order_id, [])
        while not self._stopping:
            after = seqs[-1] if seqs else 0
            url = f"{self.ws_url}/api/orders/execute?orderId={order_id}&fromSeq={after}"
            try:
                async with connect(url, open_timeout=5) as ws:
                    async for raw in ws:
                        payload = json.loads(raw)["payload"]
                        seqs.append(int(payload["seq"]))
                        if payload["status"] in FINAL:
                            return
            except Exception:  # noqa: BLE001 - the relay restarting: connect again
                pass
            self.reconnects += 1
            await asyncio.sleep(0.2)


def orders_ws_check(watcher: OrderWatcher, dsn: str, timeout: float = 15) -> dict[str, Any]:
    """Each watched order's socket got every seq 1..N once, in order (N its last)."""
    with psycopg.connect(dsn) as conn:
        want = {
            str(oid): seq
            for oid, seq in conn.execute(
                "SELECT id, seq FROM orders WHERE id = ANY(%s::uuid[])", (list(watcher.seqs),)
            )
        }
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(watcher.seqs[oid][-1:] == [seq] for oid, seq in want.items()):
            break
        time.sleep(0.1)
    bad = {
        oid: list(watcher.seqs[oid])
        for oid, seq in want.items()
        if watcher.seqs[oid] != list(range(1, seq + 1))
    }
    return {
        "orders": len(want),
        "complete_in_order": len(want) - len(bad),
        "gaps_or_duplicates": len(bad),
        "reconnects": watcher.reconnects,
        "examples": dict(list(bad.items())[:3]),
    }


def ws_check(watcher: WsWatcher, dsn: str, client_id: str, timeout: float = 15) -> dict[str, Any]:
    """What the watcher's client saw of each of its orders: every seq 1..N once, in order,
    N the order's last (waits up to `timeout` for the last ones to arrive)."""
    with psycopg.connect(dsn) as conn:
        want = {
            str(oid): seq
            for oid, seq in conn.execute(
                "SELECT id, seq FROM orders WHERE client_id = %s", (client_id,)
            )
        }
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = watcher.per_order()
        if all(got.get(oid, [0])[-1:] == [seq] for oid, seq in want.items()):
            break
        time.sleep(0.1)
    got = watcher.per_order()
    bad = {
        oid: got.get(oid, [])
        for oid, seq in want.items()
        if got.get(oid, []) != list(range(1, seq + 1))
    }
    # what arrived of an order: 1, 2, ... k with nothing skipped, repeated or reordered
    disordered = [oid for oid, seqs in got.items() if seqs != list(range(1, len(seqs) + 1))]
    return {
        "orders": len(want),
        "complete_in_order": len(want) - len(bad),
        "gaps_or_duplicates": len(bad),
        "disordered": len(disordered),
        "incomplete": len(bad) - len(set(disordered) & set(bad)),
        "reconnects": watcher.reconnects,
        "examples": dict(list(bad.items())[:3]),
    }


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


# -- scenarios --
@dataclass
class Result:
    scenario: str
    sent: int
    accepted: int
    in_db: int
    executing_at_break: int  # orders mid-execution (routing..confirmed) just before the break
    pending_at_break: int  # orders accepted, not yet taken, just before the break
    drain_s: float  # last acceptance -> every order final
    total_s: float
    report: Report
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.report.ok
            and self.accepted == self.sent == self.in_db - self.notes.get("probe_orders", 0)
            and self.notes["ws_orders"]["gaps_or_duplicates"] == 0
            and self.notes["ws"]["gaps_or_duplicates"] == 0
        )

    def summary(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "ok": self.ok,
            "sent": self.sent,
            "accepted": self.accepted,
            "in_db": self.in_db,
            "executing_at_break": self.executing_at_break,
            "pending_at_break": self.pending_at_break,
            "drain_s": round(self.drain_s, 2),
            "total_s": round(self.total_s, 2),
            **{k: v for k, v in self.report.summary().items() if k != "orders"},
            "notes": self.notes,
        }


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
    rd: ThrowawayRedis,
    workdir: Path,
    *,
    rate: float = 400,
    drain_timeout: float = 120,
    pg_down_s: float = 10,
    env: dict[str, str] | None = None,
) -> Result:
    """One scenario on a fresh database; the break comes once a third of the orders are
    sent. Returns the counts and the invariant report."""
    assert scenario in SCENARIOS, scenario
    workdir.mkdir(parents=True, exist_ok=True)
    dsn = pg.create_database(f"chaos_{scenario}_{uuid.uuid4().hex[:8]}")
    rd.flush()
    run = EngineRun(
        workdir, {"DATABASE_URL": dsn, "REDIS_URL": rd.url, "REDIS_PREFIX": "oe", **(env or {})}
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
    p.add_argument("--keep", type=Path, help="keep servers' data and engine logs here")
    args = p.parse_args(argv)
    env = {"MOCK_SWAP_LATENCY_MS": args.swap_ms, "MOCK_QUOTE_LATENCY_MS": args.quote_ms}
    results = []
    with servers(args.keep) as (pg, rd):
        workdir = Path(args.keep or tempfile.mkdtemp(prefix="chaos-engine-"))
        for scenario in args.scenario or SCENARIOS:
            print(f"-- {scenario}: {args.n} orders", file=sys.stderr)
            res = run_scenario(
                scenario, args.n, pg, rd, workdir / scenario, rate=args.rate, env=env
            )
            print(json.dumps(res.summary(), indent=2), file=sys.stderr)
            results.append(res)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"chaos-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps([r.summary() for r in results], indent=2))
    print(
        f"{'scenario':10} {'orders':>6} {'final':>6} {'twice':>5} {'gaps':>4} {'fills':>5}"
        f" {'pools':>5} {'ws_bad':>6} {'at_break':>9} {'drain_s':>7}  ok"
    )
    for r in results:
        rep = r.report
        print(
            f"{r.scenario:10} {rep.orders:6} {rep.final:6} {rep.executed_twice:5} "
            f"{rep.seq_gaps:4} {rep.fills_mismatch:5} {rep.pool_mismatch:5} "
            f"{r.notes['ws']['gaps_or_duplicates'] + r.notes['ws_orders']['gaps_or_duplicates']:6} "
            f"{r.executing_at_break:4}/{r.pending_at_break:<4} {r.drain_s:7.2f}  "
            f"{'yes' if r.ok else 'NO'}"
        )
    print(f"written to {out}", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
