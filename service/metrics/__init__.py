"""Every metric object of every process, with the seed's names.

Processes write to PROMETHEUS_MULTIPROC_DIR (set by `order-engine up`, or by the container);
`/metrics` on the API aggregates them all with a fresh registry per scrape.

May import: prometheus_client and the standard library only (every process imports it).
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import math
import os
import socket
from collections.abc import Iterator
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, values

_HOST = socket.gethostname()  # once: prometheus_client calls process_id() on every update
_ID = f"{_HOST}-{os.getpid()}"


def _forked() -> None:
    global _ID
    _ID = f"{_HOST}-{os.getpid()}"


os.register_at_fork(after_in_child=_forked)


def process_id(pid: int | None = None) -> str:
    """Host and pid: containers sharing one metrics volume each count pids from 1. This
    process's is kept (and made again in a forked child), not asked of the OS per update."""
    return _ID if pid is None else f"{_HOST}-{pid}"


@functools.cache
def child(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, made once per process: labels() validates the values and
    takes a lock on every call, which the hot paths (an update per order) need not pay."""
    return metric.labels(*labels)


class Tally:
    """Counter increments and histogram observations, written through at once, or, inside
    `deferred()`, added up and written once per metric when it ends: each write of a
    multiprocess metric is an mmap update, and a pass of N orders would pay N per metric."""

    def __init__(self) -> None:
        self._defer = 0
        self._counts: dict[Any, float] = {}
        self._observed: dict[Any, list[float]] = {}

    def inc(self, counter: Any, n: float = 1.0) -> None:
        if self._defer:
            self._counts[counter] = self._counts.get(counter, 0.0) + n
        else:
            counter.inc(n)

    def observe(self, histogram: Any, value: float) -> None:
        if self._defer:
            self._observed.setdefault(histogram, []).append(value)
        else:
            histogram.observe(value)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self._defer += 1
        try:
            yield
        finally:
            self._defer -= 1
            if not self._defer:
                self.flush()

    def flush(self) -> None:
        counts, observed = self._counts, self._observed
        self._counts, self._observed = {}, {}
        for counter, n in counts.items():
            counter.inc(n)
        for histogram, seen in observed.items():
            observe_many(histogram, seen)


def observe_many(histogram: Any, values: list[float]) -> None:
    """`histogram.observe(v)` for each of `values`, one write per bucket touched and one for
    the sum (prometheus_client's buckets, not cumulative: the first bound >= v counts v)."""
    bounds = getattr(histogram, "_upper_bounds", None)
    buckets = getattr(histogram, "_buckets", None)
    if bounds is None or buckets is None or len(bounds) != len(buckets):
        for v in values:
            histogram.observe(v)
        return
    counts = [0] * len(bounds)
    for v in values:
        counts[bisect.bisect_left(bounds, v)] += 1
    histogram._sum.inc(math.fsum(values))  # noqa: SLF001 - see above
    for bucket, n in zip(buckets, counts, strict=True):
        if n:
            bucket.inc(n)


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    values.ValueClass = values.MultiProcessValue(process_id)

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

orders_total = Counter(
    "orders_total", "Orders by type, side and status reached", ["type", "side", "status"]
)
order_execution_duration_seconds = Histogram(
    "order_execution_duration_seconds",
    "From acceptance to a final state",
    ["type", "side"],
    buckets=LATENCY_BUCKETS,
)
order_fill_ratio = Histogram(
    "order_fill_ratio",
    "Filled amount over ordered amount, at the final state",
    ["type", "side"],
    buckets=(0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0),
)
order_queue_size = Gauge(
    "order_queue_size",
    "Orders read from the streams and not yet final",
    multiprocess_mode="livesum",
)
order_queue_latency_seconds = Histogram(
    "order_queue_latency_seconds",
    "From acceptance to a worker taking the order",
    buckets=LATENCY_BUCKETS,
)
websocket_connections_current = Gauge(
    "websocket_connections_current", "Open WebSocket connections", multiprocess_mode="livesum"
)
db_pool_connections = Gauge(
    "db_pool_connections",
    "PostgreSQL pool connections by state",
    ["state"],
    multiprocess_mode="livesum",
)
engine_events_published_total = Counter(
    "engine_events_published_total", "Order events committed and published"
)
engine_batch_size = Histogram(
    "engine_batch_size",
    "Events written per worker transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
engine_pass_size = Histogram(
    "engine_pass_size",
    "Ready market orders executed in one pass (read together, no await between them)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
engine_attempts_total = Counter(
    "engine_attempts_total", "Execution attempts by outcome", ["outcome"]
)
engine_ws_messages_total = Counter(
    "engine_ws_messages_total", "Messages sent to WebSocket clients", ["kind"]
)
engine_http_requests_total = Counter(
    "engine_http_requests_total", "HTTP requests by route and status", ["route", "status"]
)
# Shard ownership (service/worker/leases.py): 1 per (shard, owner) while held, so the sum
# over owners of a shard is 1 when all is well, 0 with no owner.
engine_shard_owned = Gauge(
    "engine_shard_owned",
    "Shards held by lease, by owner process",
    ["shard", "owner"],
    multiprocess_mode="livesum",
)
engine_shard_epoch = Gauge(
    "engine_shard_epoch", "Lease epoch of the shard's owner", ["shard"], multiprocess_mode="livemax"
)
engine_shard_lease_renew_age_seconds = Gauge(
    "engine_shard_lease_renew_age_seconds",
    "Seconds since the owner last renewed the shard's lease",
    ["shard"],
    multiprocess_mode="livemax",
)
engine_shard_lag = Gauge(
    "engine_shard_lag",
    "Stream entries of the shard not yet read by its owner",
    ["shard"],
    multiprocess_mode="livemax",
)
engine_fenced_total = Counter(
    "engine_fenced_total", "Writer transactions refused: the shard's epoch was not ours"
)
engine_dead_letters_total = Counter(
    "engine_dead_letters_total",
    "Stream entries moved to the dead-letter stream, by reason",
    ["reason"],
)
engine_backpressure_total = Counter(
    "engine_backpressure_total", "Requests refused with 503 because a shard's backlog was full"
)
