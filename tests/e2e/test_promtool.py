"""`promtool check metrics` (Debian's `prometheus` package) on the engine's real /metrics,
after an order has gone through, so every metric family has samples."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from tests.helpers.engine import Engine
from tests.helpers.waiting import wait_order

pytestmark = pytest.mark.e2e


def test_metrics_after_an_order_pass_promtool_check_metrics(engine: Engine) -> None:
    promtool, curl = shutil.which("promtool"), shutil.which("curl")
    assert promtool, "promtool is missing: apt-get install prometheus (.ci/run does)"
    assert curl, "curl is missing"
    body = {
        "clientId": f"promtool-{uuid.uuid4().hex[:6]}",
        "symbol": "SOL/USDC",
        "side": "buy",
        "amount": "0.5",
    }
    status, order, _ = engine.request("POST", "/orders", body)
    assert status == 201, order
    assert wait_order(engine, order["id"], timeout=30)["status"] == "filled"

    done = subprocess.run(
        [
            "bash",
            "-o",
            "pipefail",
            "-c",
            f"{curl} -sSf {engine.http}/metrics | {promtool} check metrics",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, f"promtool check metrics:\n{done.stdout}{done.stderr}"
    # What promtool saw is the real thing: the seed's metrics, with the order counted.
    _, text, _ = engine.request("GET", "/metrics")
    assert 'orders_total{side="buy",status="filled",type="market"} 1.0' in text
    for name in (
        "order_execution_duration_seconds_bucket",
        "order_queue_size",
        "db_pool_connections",
    ):
        assert name in text, name
