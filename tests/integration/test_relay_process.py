"""The WebSocket relay against the real PostgreSQL and Redis: the process entry (serve_relay,
`run` and SIGTERM), per-client connection caps, a client that keeps sending.

Rows are written with SQL and frames published with Redis, as a worker would: store (commit)
first, publish after.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from service.config import Settings
from service.relay import serve_relay
from tests.helpers.relay import rejected, relay_for, run, wait_until, ws_url
from tests.helpers.relay_world import (
    http_get,
)

pytestmark = pytest.mark.integration

# -- the process entry --


def test_relay_serve_relay_runs_until_stopped(settings: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main() -> None:
        ready, stop = asyncio.Event(), asyncio.Event()
        server = asyncio.create_task(
            serve_relay(settings, host="127.0.0.1", port=port, ready=ready, stop=stop)
        )
        await ready.wait()
        assert await http_get(port, "/healthz") == (200, b"ok\n")
        stop.set()
        await server  # returns, no exception

    run(main())


def test_relay_run_exits_zero_on_sigterm(settings: Settings, pg_schema: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        DATABASE_URL=pg_schema,
        REDIS_URL=settings.redis_url,
        REDIS_PREFIX=settings.redis_prefix,
        HOST="127.0.0.1",
        WS_PORT=str(port),
    )
    code = (
        "from service.config import Settings; from service.relay import run;"
        " run(Settings.from_env())"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "the relay exited early"
            assert time.monotonic() < deadline, "the relay never answered /healthz"
            try:
                if asyncio.run(http_get(port, "/healthz")) == (200, b"ok\n"):
                    break
            except OSError:
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_relay_connections_per_client_capped_with_429(make_settings: Any) -> None:
    settings = make_settings(WS_MAX_CONNECTIONS_PER_CLIENT="2")

    async def main() -> None:
        async with relay_for(settings) as relay:
            url = ws_url(relay, "/ws?clientId=carol")
            async with connect(url), connect(url):
                await wait_until(lambda: len(relay.hub) == 2)
                status, body = await rejected(relay, "/ws?clientId=carol")
                assert status == 429 and body["error"]["code"] == "too_many_connections"
                async with connect(ws_url(relay, "/ws?clientId=dave")):
                    pass  # another client is not affected
            await wait_until(lambda: len(relay.hub) == 0)
            async with connect(url):  # the slots come back once closed
                pass

    asyncio.run(main())


def test_relay_client_that_keeps_sending_closed_with_reason(settings: Settings) -> None:
    async def main() -> None:
        async with relay_for(settings) as relay:
            async with connect(ws_url(relay, "/ws?clientId=erin")) as ws:
                for _ in range(40):
                    try:
                        await ws.send("hello?")
                    except ConnectionClosed:
                        break
                await ws.wait_closed()
                assert ws.close_code == 1008
                assert "only sends" in (ws.close_reason or "")

    asyncio.run(main())
