"""The README's run command on a machine with no PostgreSQL or Redis configured: `order-engine
up` in an empty directory with no URL in its environment starts an embedded PostgreSQL and
Valkey under ./.data/, fills an order, stops them with itself, and finds the order again
after a restart in the same directory."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from websockets.asyncio.client import connect

from service.runtime.embedded import wanted
from tests.helpers.engine import Engine, engine_command, free_port, wait_until_up

pytestmark = pytest.mark.e2e

SIX = ["pending", "routing", "building", "submitted", "confirmed", "filled"]


def _env_without_servers(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "EMBEDDED_DATA_DIR")
        and not k.startswith("POSTGRES_")
    }
    env.update(
        HOST="127.0.0.1",
        WORKERS="1",
        API_WORKERS="1",
        MOCK_QUOTE_LATENCY_MS="0",
        MOCK_SWAP_LATENCY_MS="0",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        LOG_LEVEL="INFO",
    )
    return env


def _start(workdir: Path, tmp_path: Path, name: str) -> Engine:
    port, ws_port = free_port(), free_port()
    env = {**_env_without_servers(tmp_path), "PORT": str(port), "WS_PORT": str(ws_port)}
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            engine_command(), cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    eng = Engine(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{ws_port}", proc, log)
    try:
        wait_until_up(eng)
    except BaseException:
        _stop(eng)
        raise
    return eng


def _stop(eng: Engine) -> int:
    if eng.proc.poll() is None:
        eng.proc.send_signal(signal.SIGTERM)
    try:
        return eng.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        eng.proc.kill()
        eng.proc.wait()
        raise AssertionError("engine did not stop on SIGTERM") from None


def _processes_on(data: Path) -> list[str]:
    """Live processes started on the data directory (by command line or working directory)."""
    found = []
    for p in psutil.process_iter():
        try:
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
            if str(data) in " ".join(p.cmdline()) or Path(p.cwd()).is_relative_to(data):
                found.append(f"{p.pid} {p.name()}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _assert_stopped_cleanly(eng: Engine, data: Path) -> None:
    code = _stop(eng)
    log = eng.log.read_text()
    assert code == 0, log[-4000:]
    assert "embedded Valkey and PostgreSQL stopped" in log, log[-4000:]
    deadline = time.monotonic() + 10
    while (left := _processes_on(data)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"still running on {data}: {left}"


async def _watch_until_final(ws_base: str, order_id: str) -> list[dict]:
    got: list[dict] = []
    async with connect(f"{ws_base}/api/orders/execute?orderId={order_id}") as ws:
        async with asyncio.timeout(30):
            async for raw in ws:
                msg = json.loads(raw)
                got.append(msg["payload"])
                if msg["payload"]["status"] in ("filled", "failed"):
                    break
    return got


def test_up_with_no_urls_runs_embedded_servers_that_keep_orders_across_restarts(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "fresh-checkout"
    workdir.mkdir()
    data = workdir / ".data"

    eng = _start(workdir, tmp_path, "first")
    try:
        log = eng.log.read_text()
        assert "embedded PostgreSQL (pgserver) up" in log and str(data / "postgres") in log
        assert "embedded Valkey" in log and str(data / "valkey") in log
        status, health, _ = eng.request("GET", "/health")
        assert status == 200 and health["postgres"] == "connected", health
        assert health["redis"] == "connected", health

        body = {
            "clientId": "newcomer",
            "symbol": "SOL/USDC",
            "side": "buy",
            "amount": "1.5",
            "slippageBps": 100,
        }
        status, order, _ = eng.request("POST", "/api/orders/execute", body)
        assert status == 201, order
        events = asyncio.run(_watch_until_final(eng.ws, order["id"]))
        assert [e["status"] for e in events] == SIX, events
    finally:
        _assert_stopped_cleanly(eng, data)
    assert (data / "postgres" / "PG_VERSION").is_file()
    assert (data / "valkey" / "appendonlydir").is_dir()

    eng = _start(workdir, tmp_path, "second")
    try:
        status, again, _ = eng.request("GET", f"/orders/{order['id']}")
        assert status == 200, again
        assert again["status"] == "filled" and again["filled"] == "1.5" and again["txHash"]
        status, stored, _ = eng.request("GET", f"/orders/{order['id']}/events")
        assert [e["status"] for e in stored["events"]] == SIX
    finally:
        _assert_stopped_cleanly(eng, data)


def test_embedded_only_when_no_server_is_named() -> None:
    assert wanted({}) and wanted({"DATABASE_URL": " ", "REDIS_PREFIX": "x", "PORT": "1"})
    for name in ("DATABASE_URL", "POSTGRES_HOST", "REDIS_URL", "REDIS_HOST"):
        assert not wanted({name: "x"}), name
