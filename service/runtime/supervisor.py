"""`order-engine up`: migrations, then the API (gunicorn), one worker per core and the relay
as child processes; a crashed child is restarted, SIGTERM/SIGINT stop them all."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from service.config import Settings
from service.metrics.exposition import mark_dead, reset_dir

log = logging.getLogger(__name__)

QUICK_S = 5.0  # a child that exits this soon after starting failed at start
GIVE_UP_AFTER = 3  # the same failure at start this many times in a row: stop everything
EXIT_CHILD_FAILS = 3


@dataclass
class Child:
    name: str
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started: float = field(default=0.0)
    # consecutive exits within QUICK_S of starting with the same code: the same failure
    quick_failures: int = 0
    last_code: int | None = None
    # it once ran past QUICK_S: later failures at start are an outage (PostgreSQL or Redis
    # restarting), not a bad setting, and it is restarted for as long as they last
    ran: bool = False

    def start(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "service", *self.args], env=env)
        self.started = time.monotonic()
        log.info("started %s (pid %d)", self.name, self.proc.pid)


class Supervisor:
    def __init__(self, settings: Settings, *, workers_only: bool = False) -> None:
        self.settings = settings
        self.workers_only = workers_only
        self.children = [] if workers_only else [Child("api", ["api"])]
        # Pool workers: they share the shards by lease (service/worker/leases.py), with
        # every other worker on the same PostgreSQL and Redis, on this machine or another.
        self.children += [
            Child(f"worker-{i}", ["worker", "--slot", str(i)]) for i in range(settings.workers)
        ]
        if not workers_only:
            self.children.append(Child("relay", ["relay"]))
        self._stopping = False
        self._failed: str | None = None

    def _env(self) -> dict[str, str]:
        """`up` owns the metrics directory of its children and wipes it at start (as the
        prometheus_client docs require); `worker` alone shares one set by its container."""
        env = dict(os.environ)
        metrics_dir = env.get("PROMETHEUS_MULTIPROC_DIR")
        if not metrics_dir:
            metrics_dir = str(Path(tempfile.gettempdir()) / f"order-engine-metrics-{os.getpid()}")
            reset_dir(Path(metrics_dir))
        elif not self.workers_only:
            reset_dir(Path(metrics_dir))
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        return env

    def run(self) -> int:
        env = self._env()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = env["PROMETHEUS_MULTIPROC_DIR"]
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for child in self.children:
            child.start(env)
        announced = self.workers_only
        while not self._stopping:
            if not announced and self._serving():
                announced = True
                s = self.settings
                log.info(
                    "order engine up: http://127.0.0.1:%d  ws://127.0.0.1:%d/ws  (%d workers)",
                    s.port,
                    s.ws_port,
                    s.workers,
                )
            for child in self.children:
                assert child.proc is not None
                code = child.proc.poll()
                if code is None or self._stopping:
                    continue
                mark_dead(child.proc.pid)
                self._restart(child, code, env)
            self._sleep(0.2)
        code = self._shutdown()
        return EXIT_CHILD_FAILS if self._failed else code

    def _restart(self, child: Child, code: int, env: dict[str, str]) -> None:
        """Restart a crashed child; one that keeps failing the same way at start, and never
        got past it, is not restarted again (a busy port, a bad setting): `up` stops with one
        line instead. One that ran before is restarted, more and more slowly (an outage)."""
        child.restarts += 1
        quick = time.monotonic() - child.started < QUICK_S
        child.ran = child.ran or not quick
        if quick and code == child.last_code:
            child.quick_failures += 1
        else:
            child.quick_failures = 1 if quick else 0
        child.last_code = code
        if child.quick_failures >= GIVE_UP_AFTER and not child.ran:
            self._failed = child.name
            log.error(
                "%s failed at start %d times in a row (exit code %s): not restarting it; "
                "stopping (its own message is above)",
                child.name,
                child.quick_failures,
                code,
            )
            self._stopping = True
            return
        # A child that dies right after starting is restarted more and more slowly.
        delay = min(2 ** min(child.quick_failures - 1, 5), 30) if quick else 0.5
        log.error("%s exited with %s; restarting in %.1fs", child.name, code, delay)
        self._sleep(delay)
        if not self._stopping:
            child.start(env)

    def _serving(self) -> bool:
        """The API and the relay accept connections (then `up` says it is up)."""
        s = self.settings
        host = "127.0.0.1" if s.host in ("0.0.0.0", "", "::") else s.host
        for port in (s.port, s.ws_port):
            try:
                with socket.create_connection((host, port), timeout=0.05):
                    pass
            except OSError:
                return False
        return True

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < end:
            time.sleep(0.05)

    def _stop(self, signum: int, frame: object) -> None:
        if not self._stopping:
            log.info("stopping (signal %d)", signum)
        self._stopping = True

    def _shutdown(self) -> int:
        live = [c for c in self.children if c.proc and c.proc.poll() is None]
        for child in live:
            assert child.proc is not None
            child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 70
        for child in live:
            assert child.proc is not None
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("%s did not stop in time; killing it", child.name)
                child.proc.kill()
                child.proc.wait()
        log.info("all stopped")
        return 0
