"""Slow and idle connections against a real engine: do /health and POST /orders still answer?

    python -m bench.chaos.slowloris [--idle 200] [--slow 50] [--probes 200] [--tree DIR]

Starts `order-engine up` (the source tree in --tree, default this one: run it once with
--tree /work/main for a before) on a fresh database, opens `--idle` connections that send
nothing and `--slow` that send a request head one byte a second (each one reopened when the
server closes it, as an attacker would), then sends `--probes` requests of each kind, one at a
time on a new connection, from a normal client, and prints the answered count and latency
percentiles as JSON. A probe that gets no answer within --timeout counts as unanswered.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from bench.launch import running_engine
from bench.load.engine import BASE_DSN

ORDER = {"clientId": "probe", "symbol": "SOL/USDC", "side": "buy", "amount": "0.01"}
# the request line and Host at once, then a header one byte a second (classic slowloris)
SLOW_START = b"GET /health HTTP/1.1\r\nHost: engine\r\nX-Slow: "
SLOW_HEAD = b"a" * 4000


class Attack:
    """Idle and slow connections, kept open (reopened when closed) by one thread."""

    def __init__(self, host: str, port: int, idle: int, slow: int) -> None:
        self.addr = (host, port)
        self.idle: list[socket.socket | None] = [None] * idle
        self.slow: list[tuple[socket.socket, int] | None] = [None] * slow
        self.reopened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self) -> socket.socket | None:
        try:
            return socket.create_connection(self.addr, timeout=2)
        except OSError:
            return None

    def _tick(self) -> None:
        for i, s in enumerate(self.idle):
            if s is None or _closed(s):
                if s is not None:
                    s.close()
                    self.reopened += 1
                self.idle[i] = self._connect()
        for i, entry in enumerate(self.slow):
            if entry is None:
                sock = self._connect()
                if sock is not None:
                    try:
                        sock.sendall(SLOW_START)
                    except OSError:
                        sock.close()
                        sock = None
                self.slow[i] = (sock, 0) if sock else None
                continue
            sock, sent = entry
            try:
                sock.send(SLOW_HEAD[sent % len(SLOW_HEAD) : sent % len(SLOW_HEAD) + 1])
                self.slow[i] = (sock, sent + 1)
            except OSError:
                sock.close()
                self.reopened += 1
                self.slow[i] = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._tick()
            self._stop.wait(1.0)

    def __enter__(self) -> Attack:
        self._tick()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in self.idle:
            if s is not None:
                s.close()
        for entry in self.slow:
            if entry is not None:
                entry[0].close()


def _closed(s: socket.socket) -> bool:
    try:
        s.setblocking(False)
        return s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        with contextlib.suppress(OSError):
            s.setblocking(True)


def probe(host: str, port: int, method: str, path: str, timeout: float) -> float | None:
    """Seconds to a complete answer on a new connection; None when none came in time."""
    body = json.dumps({**ORDER, "clientOrderId": uuid.uuid4().hex}) if method == "POST" else None
    start = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        if r.status >= 500:
            return None
        return time.perf_counter() - start
    except OSError:
        return None
    finally:
        conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(host: str, port: int, probes: int, timeout: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method, path in (("GET", "/health"), ("POST", "/orders")):
        times = [probe(host, port, method, path, timeout) for _ in range(probes)]
        ok = [t for t in times if t is not None]
        out[f"{method} {path}"] = {
            "answered": f"{len(ok)}/{probes}",
            "p50_ms": round(percentile(ok, 0.5) * 1000, 1) if ok else None,
            "p99_ms": round(percentile(ok, 0.99) * 1000, 1) if ok else None,
            "max_ms": round(max(ok) * 1000, 1) if ok else None,
        }
    return out


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(BASE_DSN, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(BASE_DSN, dbname=name)
    finally:
        with psycopg.connect(BASE_DSN, autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--idle", type=int, default=200)
    p.add_argument("--slow", type=int, default=50)
    p.add_argument("--probes", type=int, default=200)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--settle", type=float, default=3.0, help="seconds of attack before probing")
    p.add_argument("--tree", type=Path, help="source tree to run (default: this one)")
    args = p.parse_args(argv)
    if args.tree:
        os.environ["PYTHONPATH"] = str(args.tree.resolve())
    result: dict[str, Any] = {"idle": args.idle, "slow": args.slow, "tree": str(args.tree or ".")}
    with (
        fresh_database() as db,
        tempfile.TemporaryDirectory() as tmp,
        running_engine(db, f"bench:{uuid.uuid4().hex[:8]}", Path(tmp)) as eng,
    ):
        host, port = "127.0.0.1", int(eng.http.rsplit(":", 1)[1])
        result["quiet"] = measure(host, port, min(args.probes, 50), args.timeout)
        with Attack(host, port, args.idle, args.slow) as attack:
            time.sleep(args.settle)
            result["under_attack"] = measure(host, port, args.probes, args.timeout)
            result["attack_reopened"] = attack.reopened
            result["attack_open"] = {
                "idle": sum(s is not None for s in attack.idle),
                "slow": sum(e is not None for e in attack.slow),
                "slow_bytes_sent": sum(e[1] for e in attack.slow if e is not None),
            }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
