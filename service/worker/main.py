"""Entry of one engine worker process: pinned to a core, stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal

from service.config import Settings
from service.worker.worker import Worker

log = logging.getLogger(__name__)

# A worker makes a few short-lived objects per status change: at the default threshold (700
# allocations) a young collection ran every few orders, and every tenth of those an older
# one walking all the orders held. Collections every GC_YOUNG allocations instead, and what
# the start made (modules, markets, pools) frozen out of them.
GC_YOUNG = 20_000


def pin_to_core(index: int) -> int | None:
    """Pin this process to one of the cores it may use, round robin by worker index."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    core = cores[index % len(cores)]
    os.sched_setaffinity(0, {core})
    return core


async def _main(settings: Settings, index: int | None, count: int | None, slot: int) -> None:
    worker = Worker(settings, index, count, slot=slot)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    except Exception:
        # Fatal: exit now and non-zero, for the supervisor to restart this worker. Not
        # through asyncio.run's cleanup, which waits for every task to end (a client that
        # swallowed its cancellation would keep the process up, doing nothing).
        log.critical("worker %s exiting after a fatal error", slot, exc_info=True)
        logging.shutdown()
        os._exit(1)


def run(settings: Settings, index: int | None, count: int | None, slot: int = 0) -> None:
    """Static mode with `index` (the leases of `shard % count == index`), else a member of
    the pool (`slot` picks the core)."""
    core = pin_to_core(slot if index is None else index)
    gc.freeze()
    gc.set_threshold(GC_YOUNG, 10, 10)
    if index is None:
        log.info("pool worker %d starting on core %s (pid %d)", slot, core, os.getpid())
    else:
        log.info("worker %d/%s starting on core %s (pid %d)", index, count, core, os.getpid())
    asyncio.run(_main(settings, index, count, slot))
    log.info("worker stopped")
