"""`order-engine bench` as a user runs it, small: every scenario's result holds what its
figures rest on (all six events per order, every event delivered). No timing is asserted:
speed is the tool's output, not a test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def bench(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "result.json"
    subprocess.run(
        [sys.executable, "-m", "bench.load", "--quiet", "--out", str(out), *args],
        check=True,
        timeout=600,
        stdout=subprocess.DEVNULL,
    )
    return json.loads(out.read_text())


def test_rest_every_order_filled_and_every_event_delivered(tmp_path: Path) -> None:
    result = bench(tmp_path, "--scenario", "rest", "-n", "200", "--connections", "8")
    rest = result["engine"]["rest"]
    assert rest["accepted"] == 200 and rest["statuses"] == {"filled": 200}
    assert rest["orders_missing_events"] == 0 and rest["errors"] == {}
    assert rest["ws_messages"] == 200 * 6


def test_queued_orders_through_all_six_statuses_persisted_and_published(
    tmp_path: Path,
) -> None:
    result = bench(tmp_path, "--scenario", "queued", "-n", "400")
    queued = result["engine"]["queued"]
    assert queued["filled"] == queued["orders_with_all_six_events"] == 400
    assert queued["events_stored"] == 400 * 6
    # every status the workers made, plus the pending events they re-announce at start
    assert queued["events_published"] >= 400 * 5
    # where the CPU went: each worker's, and PostgreSQL's (its server runs on this machine)
    assert set(queued["cpu_s"]) == {"worker-0", "worker-1"}
    assert all(s > 0 for s in queued["cpu_s"].values())
    assert queued["postgres_cpu_s"] > 0
    assert queued["workers_us_per_order"] > 0 and queued["postgres_us_per_order"] > 0


def test_inflight_waves_through_the_same_workers(tmp_path: Path) -> None:
    result = bench(
        tmp_path, "--scenario", "inflight", "--inflight-n", "300", "--inflight-waves", "2"
    )
    inflight = result["engine"]["inflight"]
    assert inflight["orders"] == inflight["filled"] == 600
    assert len(inflight["waves"]) == 2
    assert all(w["held_peak"] > 0 for w in inflight["waves"])
    assert inflight["peak_held_by_workers"] >= inflight["peak_in_flight"] > 0


def test_batch_every_order_filled_persisted_and_every_event_delivered(tmp_path: Path) -> None:
    result = bench(
        tmp_path, "--scenario", "batch", "-n", "300", "--batch-size", "50",
        "--batch-connections", "2", "--clients", "5",
    )  # fmt: skip
    batch = result["engine"]["batch"]
    assert batch["accepted"] == 300 and batch["statuses"] == {"filled": 300}
    assert batch["persisted"] == 300 and batch["errors"] == {}
    assert batch["orders_missing_events"] == 0 and batch["ws_messages"] == 300 * 6
