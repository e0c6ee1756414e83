"""CPU the PostgreSQL server spends on a run: its backends and its background processes
(WAL writer, checkpointer, ...), sampled from /proc while the run goes on, so that a
scenario can say how much of the machine's CPU went to storing what the engine (or its
bare twin) wrote. Only for a server on this machine (else the figure is None)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import psycopg

from bench.load.engine import cpu_seconds

SAMPLE_S = 0.25

# The backends of this database, and the server's own processes (no database).
PIDS = (
    "SELECT pid FROM pg_stat_activity"
    " WHERE (datname = current_database() OR datname IS NULL) AND pid <> pg_backend_pid()"
)


class ServerCpu:
    """`async with ServerCpu(dsn) as m:` ... `m.seconds`: the CPU seconds PostgreSQL's
    processes spent between entering and leaving (a backend that starts and ends between
    two samples is missed: the runs' connections live as long as they do)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self.local = True

    async def __aenter__(self) -> ServerCpu:
        self._conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
        for pid, cpu in (await self._sample()).items():
            self._start[pid] = cpu
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None and self._conn is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._sample()
        await self._conn.close()

    @property
    def seconds(self) -> float | None:
        if not self.local:
            return None
        return round(sum(cpu - self._start.get(pid, 0.0) for pid, cpu in self._last.items()), 2)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_S)
            await self._sample()

    async def _sample(self) -> dict[int, float]:
        assert self._conn is not None
        cur = await self._conn.execute(PIDS)
        got = {}
        for (pid,) in await cur.fetchall():
            cpu = cpu_seconds(pid)
            if cpu == 0.0 and not _visible(pid):
                self.local = False  # the server runs elsewhere
                continue
            got[pid] = cpu
            self._last[pid] = max(cpu, self._last.get(pid, 0.0))
        return got


def cpu_per_order(workers: dict[str, float], server: float | None, orders: int) -> dict[str, Any]:
    """The CPU seconds of the workers (each) and of PostgreSQL over a run, and both per
    order in microseconds: where the machine's two cores went."""
    w = sum(workers.values())
    return {
        "cpu_s": {k: round(v, 2) for k, v in workers.items()},
        "postgres_cpu_s": server,
        "workers_us_per_order": round(w * 1e6 / orders) if orders else None,
        "postgres_us_per_order": round(server * 1e6 / orders) if orders and server else None,
    }


def _visible(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat"):
            return True
    except OSError:
        return False
