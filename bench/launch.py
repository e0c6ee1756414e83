"""The one engine launcher of bench/chaos and of the e2e tests (tests/helpers/engine.py binds it
to the test servers): start the engine as a user starts it (`order-engine up`) on free ports,
against a fresh database and its own Redis key prefix; stop it with SIGTERM and check it exits
cleanly."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load.engine import REDIS_URL, free_port


@dataclass
class Engine:
    http: str
    ws: str
    proc: subprocess.Popen[bytes]
    log: Path

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.http + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
                ctype = r.headers.get("Content-Type", "")
                return (
                    r.status,
                    json.loads(raw) if "json" in ctype else raw.decode(),
                    dict(r.headers),
                )
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw else None, dict(e.headers)


def engine_command() -> list[str]:
    exe = shutil.which("order-engine")
    return [exe, "up"] if exe else [sys.executable, "-m", "service", "up"]


def wait_until_up(engine: Engine, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine.proc.poll() is not None:
            raise RuntimeError(f"engine exited early:\n{engine.log.read_text()[-4000:]}")
        try:
            status, body, _ = engine.request("GET", "/health")
            ws_port = int(engine.ws.rsplit(":", 1)[1])
            with urllib.request.urlopen(f"http://127.0.0.1:{ws_port}/healthz", timeout=2):
                pass
            # "ok": the workers hold every shard by lease (else "degraded", unownedShards)
            if status == 200 and isinstance(body, dict) and body.get("status") == "ok":
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"engine not up in {timeout}s:\n{engine.log.read_text()[-4000:]}")


@contextlib.contextmanager
def running_engine(
    database_url: str,
    redis_prefix: str,
    workdir: Path,
    redis_url: str = REDIS_URL,
    **extra: str,
) -> Iterator[Engine]:
    """`order-engine up` on free ports with zero mock latency and no random walk; stopped
    with SIGTERM, which must end it cleanly. `redis_url` defaults to BENCH_REDIS_URL /
    REDIS_URL (bench.load.engine)."""
    port, ws_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": redis_prefix,
        "PORT": str(port),
        "WS_PORT": str(ws_port),
        "HOST": "127.0.0.1",
        "WORKERS": "2",
        "API_WORKERS": "2",
        "MOCK_QUOTE_LATENCY_MS": "0",
        "MOCK_SWAP_LATENCY_MS": "0",
        "MOCK_BLOCKHASH_VALIDITY_MS": "1000",  # a takeover's attempts in doubt expire soon
        "QUEUE_CONCURRENCY": "64",
        "QUEUE_RATE_LIMIT_MAX": "100000",
        "SIM_TICK_MS": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    log = workdir / "engine.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(engine_command(), env=env, stdout=out, stderr=subprocess.STDOUT)
    eng = Engine(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{ws_port}", proc, log)
    try:
        wait_until_up(eng)
        yield eng
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError("engine did not stop on SIGTERM") from None
            assert code == 0, log.read_text()[-4000:]
