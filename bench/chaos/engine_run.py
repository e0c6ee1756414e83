"""The engine of a chaos run: `order-engine up` on fixed ports with the run's settings
(real latencies, seeded failures), its processes and shard leases."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.launch import Engine, engine_command, free_port, wait_until_up
from service.store.redis_client import sync_client

WORKERS = 2
SHARDS = 8
SERVER_ENV = ("DATABASE_URL", "REDIS_URL", "REDIS_CLUSTER", "REDIS_PREFIX")


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
    "LEASE_TTL_MS": "3000",
    # an attempt in flight at a kill is retried by the next owner once its transaction
    # expired: short, as the swaps are (50-150 ms)
    "MOCK_BLOCKHASH_VALIDITY_MS": "2000",
}


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
        self.own_group = False  # a process group of its own (killed whole, as a host)

    def start(self) -> Engine:
        self.starts += 1
        log = self.workdir / f"engine-{self.starts}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                engine_command(),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=self.own_group,
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


def lease_owners(env: dict[str, str]) -> list[str | None]:
    """The owner id holding each shard's lease (None: free), on the run's Redis."""
    r = sync_client(env["REDIS_URL"], env.get("REDIS_CLUSTER") == "1")
    try:
        values: list[Any] = [r.get(f"oe:lease:{{{shard}}}") for shard in range(SHARDS)]
    finally:
        r.close()
    return [bytes(v).decode().rsplit(" ", 1)[0] if v else None for v in values]
