"""Start the engine (or parts of it) for a load run: a fresh PostgreSQL database and a unique
Redis key prefix per run, free ports, zero mock latency unless asked; stopped with SIGTERM
and cleaned up afterwards (database dropped, keys unlinked)."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

BASE_DSN = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
    "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or os.environ.get(
    "REDIS_URL", "redis://127.0.0.1:6379/0"
)

# The engine as the load runs measure it: no simulated latency, no price random walk, the
# queue's rate limit and the per-client request limit lifted, enough executions in flight.
FAST_ENV = {
    "WORKERS": "2",
    "API_WORKERS": "2",
    "API_THREADS": "32",
    "MOCK_QUOTE_LATENCY_MS": "0",
    "MOCK_SWAP_LATENCY_MS": "0",
    "QUEUE_CONCURRENCY": "1024",
    "QUEUE_RATE_LIMIT_MAX": "1000000000",
    "RATE_LIMIT_PER_MIN": "100000000",
    "SIM_TICK_MS": "0",
    "LOG_LEVEL": "WARNING",
}


def free_port() -> int:
    """A TCP port of 127.0.0.1 free now, for a server started next. Taken below the kernel's
    ephemeral range: a port a bind to port 0 hands out comes from that range, where any
    outgoing connection (a client's source port) may take it before the server binds it
    (seen once in the suite: "port ... is already in use" at an engine's start)."""
    lo, hi = _ephemeral_range()
    pick = range(10_000, lo) if lo - 10_000 >= 1_000 else range(hi + 1, 65_536)
    for _ in range(200):
        port = random.choice(pick)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # all taken (never seen): the kernel's choice
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ephemeral_range() -> tuple[int, int]:
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32_768, 60_999  # Linux's default


@dataclass
class Fresh:
    """A fresh database and Redis prefix."""

    database_url: str
    prefix: str
    name: str

    def drop(self) -> None:
        with contextlib.suppress(Exception), psycopg.connect(BASE_DSN, autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )
        with contextlib.suppress(Exception):
            r = redis.Redis.from_url(REDIS_URL)
            for key in r.scan_iter(match=f"{self.prefix}:*", count=1000):
                r.unlink(key)
            r.close()


@contextlib.contextmanager
def fresh(keep: bool = False) -> Iterator[Fresh]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(BASE_DSN, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    f = Fresh(make_conninfo(BASE_DSN, dbname=name), f"bench:{name[6:]}", name)
    try:
        yield f
    finally:
        if not keep:
            f.drop()


@dataclass
class Engine:
    http: str
    ws: str
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log: Path
    children: list[int] = field(default_factory=list)

    def pids(self) -> dict[str, int]:
        """name -> pid of the engine's processes (api workers, workers, relay)."""
        out: dict[str, int] = {}
        for pid in descendants(self.proc.pid):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            text = b" ".join(cmd).decode(errors="replace")
            if "gunicorn" in text:
                name = "api"
            elif " worker --slot " in text or " worker --index " in text:
                flag = "--slot " if "--slot " in text else "--index "
                name = "worker-" + text.split(flag)[1].split()[0]
            elif text.endswith(" relay") or " relay " in text:
                name = "relay"
            else:
                continue
            key, i = name, 1
            while key in out:
                key, i = f"{name}-{i}", i + 1
            out[key] = pid
        return out


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(p))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def engine_env(f: Fresh, extra: dict[str, str] | None = None) -> dict[str, str]:
    port, ws_port = free_port(), free_port()
    metrics = tempfile.mkdtemp(prefix="bench-metrics-")
    return {
        **os.environ,
        **FAST_ENV,
        "DATABASE_URL": f.database_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": f.prefix,
        "PORT": str(port),
        "WS_PORT": str(ws_port),
        "HOST": "127.0.0.1",
        "PROMETHEUS_MULTIPROC_DIR": metrics,
        **(extra or {}),
    }


def _command(part: str, engine_dir: Path | None) -> list[str]:
    if engine_dir is None and shutil.which("order-engine"):
        return [str(shutil.which("order-engine")), part]
    return [sys.executable, "-m", "service", part]


def migrate(env: dict[str, str], engine_dir: Path | None = None) -> None:
    subprocess.run(
        _command("migrate", engine_dir),
        env=env,
        cwd=engine_dir,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def start(
    env: dict[str, str],
    workdir: Path,
    part: str = "up",
    engine_dir: Path | None = None,
    wait_http: bool = True,
) -> Iterator[Engine]:
    """`order-engine up` (or `worker`: the workers alone) with `env`; `engine_dir` runs the
    engine of another source tree (e.g. an older commit, for before/after)."""
    log = workdir / f"engine-{part}.log"
    if engine_dir is not None:
        env = {**env, "PYTHONPATH": str(engine_dir)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            _command(part, engine_dir),
            env=env,
            cwd=engine_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    eng = Engine(
        f"http://127.0.0.1:{env['PORT']}", f"ws://127.0.0.1:{env['WS_PORT']}", env, proc, log
    )
    try:
        if wait_http:
            _wait_up(eng)
        yield eng
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_up(engine: Engine, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    ws_port = engine.env["WS_PORT"]
    while time.monotonic() < deadline:
        if engine.proc.poll() is not None:
            raise RuntimeError(f"engine exited early:\n{engine.log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(engine.http + "/health", timeout=2) as r:
                ok = r.status == 200
            with urllib.request.urlopen(f"http://127.0.0.1:{ws_port}/healthz", timeout=2):
                pass
            if ok and listeners(int(engine.env["PORT"])) >= int(engine.env["API_WORKERS"]):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"engine not up in {timeout}s:\n{engine.log.read_text()[-4000:]}")


def listeners(port: int) -> int:
    """Sockets listening on this TCP port of this machine (/proc/net/tcp and tcp6). The API's
    gunicorn processes each open their own (reuse_port), and the kernel spreads new
    connections over those open: a load that connects before every process listens keeps
    its keep-alive connections on the first ones up (one API process at 7.8 s of CPU, the
    other at 0.8, in one wrk run), so a run starts once all listen."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state = fields[1], fields[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # LISTEN
                    n += 1
    return n


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_report(e: Engine) -> dict[str, dict[str, float]]:
    """Each engine process's CPU seconds and its seconds waiting for a CPU, by name."""
    pids = e.pids()
    return {
        "cpu_s": {k: round(cpu_seconds(p), 1) for k, p in pids.items()},
        "cpu_wait_s": {k: round(run_delay_seconds(p), 1) for k, p in pids.items()},
    }


def cpu_seconds(pid: int) -> float:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def run_delay_seconds(pid: int) -> float:
    """Seconds the process's threads spent runnable but waiting for a CPU (the second field
    of /proc/PID/schedstat, summed over its threads): how much a busy, shared machine held
    it back, next to cpu_seconds."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tasks:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[1])
    return total / 1e9


def dbname(dsn: str) -> str:
    return str(conninfo_to_dict(dsn).get("dbname", ""))
