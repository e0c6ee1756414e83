"""`order-engine submit --watch`, `orders`, `quote`, `markets` and `cancel` as a user runs
them (the console script, in a subprocess) against the real engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from tests.helpers.engine import Engine

pytestmark = pytest.mark.e2e


def cli(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("order-engine")
    cmd = [exe] if exe else [sys.executable, "-m", "service"]
    env = {**os.environ, "ENGINE_URL": engine.http}
    env.pop("ENGINE_WS_URL", None)  # found through the API's /config.json
    env.pop("API_KEY", None)
    return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_submits_watches_lists_and_reads_the_market(engine: Engine) -> None:
    client = f"cli-{uuid.uuid4().hex[:6]}"
    done = cli(
        engine, "submit", "--client-id", client, "--symbol", "SOL/USDC", "--side", "buy",
        "--amount", "0.25", "--slippage-bps", "100", "--watch", "--timeout", "30",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    order_id = lines[0].removeprefix("accepted: ")
    assert [line.split()[1] for line in lines if line[:1].isdigit()] == [
        "pending", "routing", "building", "submitted", "confirmed", "filled",
    ]  # fmt: skip

    done = cli(engine, "orders", "--client-id", client, "--json")
    assert done.returncode == 0, done.stderr
    (listed,) = json.loads(done.stdout)["orders"]
    assert listed["id"] == order_id and listed["status"] == "filled"

    done = cli(engine, "orders", "--client-id", client, "--status", "filled")
    assert done.returncode == 0 and order_id in done.stdout and "filled" in done.stdout

    done = cli(engine, "quote", "--symbol", "SOL/USDC", "--side", "sell", "--amount", "1")
    assert done.returncode == 0 and "expectedPrice" in done.stdout, done.stderr

    done = cli(engine, "markets", "--symbol", "SOL/USDC", "--json")
    assert done.returncode == 0
    (market,) = json.loads(done.stdout)["markets"]
    assert {v["venue"] for v in market["venues"]} == {"raydium", "meteora"}

    # A filled order cannot be canceled (409), an unknown one is 404: both exit 1.
    done = cli(engine, "cancel", order_id)
    assert done.returncode == 1 and f"cannot cancel {order_id}" in done.stderr, done.stderr
    done = cli(engine, "cancel", str(uuid.uuid4()))
    assert done.returncode == 1 and "no such order" in done.stderr, done.stderr

    done = cli(
        engine, "submit", "--client-id", client, "--symbol", "SOL/USDC", "--side", "buy",
        "--amount", "-1",
    )  # fmt: skip
    assert done.returncode == 1 and "(field: amount)" in done.stderr, done.stderr
