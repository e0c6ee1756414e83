"""Breaks of a chaos run that involve more than the one engine: a worker paused (SIGSTOP, as
a GC pause, a VM freeze or a partition) and resumed, and a second host joining, then killed
whole mid-run (a second `order-engine up`, or one that runs only `order-engine worker`),
each in a process group of its own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.chaos.engine_run import SERVER_ENV, SHARDS, EngineRun, lease_owners
from bench.launch import engine_command


def _owner_prefix(pid: int) -> str:
    return f"{socket.gethostname()}-{pid}-"  # process_owner_id(): host, pid, random part


def _wait_joined(env: dict[str, str], before: set[str | None]) -> list[str]:
    """The owners new since `before`, once they hold half the shards (or after 30 s)."""
    theirs: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        theirs = [o for o in lease_owners(env) if o is not None and o not in before]
        if len(theirs) >= SHARDS // 2:
            break
        time.sleep(0.1)
    return theirs


def _kill_host(
    proc: subprocess.Popen[bytes], env: dict[str, str], theirs: list[str]
) -> float | None:
    """kill -9 of the host's whole process group, after its orders are mid-execution;
    seconds until its shards have owners again."""
    time.sleep(2.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return _wait_owned(env, set(theirs), 60)


def second_up(run: EngineRun, workdir: Path, notes: dict[str, Any]) -> None:
    """Another `up` on the same servers; once its workers hold shards, kill -9 its group."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: run.env[k] for k in SERVER_ENV if k in run.env}
    second = EngineRun(workdir, env)
    second.own_group = True
    before = set(lease_owners(env))
    engine = second.start()
    theirs = _wait_joined(env, before)
    notes["second_up_shards"] = len(theirs)
    notes["takeover_s"] = _kill_host(engine.proc, env, theirs)


def _wait_owned(env: dict[str, str], dead: set[str], timeout: float) -> float | None:
    """Seconds until every shard has a live owner none of `dead` (None: not in time)."""
    t0 = time.monotonic()
    while time.monotonic() < t0 + timeout:
        owners = lease_owners(env)
        if all(o is not None and o not in dead for o in owners):
            return round(time.monotonic() - t0, 2)
        time.sleep(0.05)
    return None


def sigstop(run: EngineRun, pid: int, paused_s: float, notes: dict[str, Any]) -> None:
    """SIGSTOP a worker for `paused_s`, then SIGCONT: its shards move to the other workers
    once its leases expire; resumed, it must find them lost and write nothing to them (its
    commits are fenced off in PostgreSQL)."""
    env = {k: run.env[k] for k in SERVER_ENV if k in run.env}
    mine = {o for o in lease_owners(env) if o and o.startswith(_owner_prefix(pid))}
    notes["paused_shards"] = sum(o in mine for o in lease_owners(env))
    os.kill(pid, signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        notes["takeover_s"] = _wait_owned(env, mine, paused_s)
        time.sleep(max(0.0, paused_s - (time.monotonic() - t0)))
    finally:
        os.kill(pid, signal.SIGCONT)
    time.sleep(2.0)  # it resumes, finds its leases lost, drops those shards
    notes["resumed_worker_alive"] = _alive(pid)
    notes["owners_after_resume"] = len({o for o in lease_owners(env) if o})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def worker_host(run: EngineRun, workdir: Path, notes: dict[str, Any]) -> None:
    """A second host that runs only workers (`order-engine worker`: WORKERS pool workers
    under their supervisor) joins; once it holds shards and has orders in flight, its whole
    process group is killed with kill -9; the first host's workers take the shards back."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: run.env[k] for k in SERVER_ENV if k in run.env}
    before = set(lease_owners(env))
    child_env = {**run.env, "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics")}
    with (workdir / "worker-host.log").open("wb") as log:
        proc = subprocess.Popen(
            [*engine_command()[:-1], "worker"],
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own: the host
        )
    theirs = _wait_joined(env, before)
    notes["worker_host_shards"] = len(theirs)
    notes["takeover_s"] = _kill_host(proc, env, theirs)
