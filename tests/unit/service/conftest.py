"""Fixtures of the CLI client tests (test_client_*.py): a stdlib HTTP server as the API
(`api`) and a `websockets` server as the relay (`relay`) that record what they get."""

from __future__ import annotations

import asyncio
import http
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from tests.helpers.client import FakeApi, FakeRelay, Seen
from tests.helpers.engine import free_port


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    fake: FakeApi

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if (self.command, parts.path) == ("GET", "/markets") and (
                ("GET", "/markets") not in fake.routes
            ):  # the client's look-up of price digits, unanswered here: not the command's
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            fake.seen.append(
                Seen(
                    self.command,
                    parts.path,
                    urllib.parse.parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
            )
            status, body, headers = fake.routes.get(
                (self.command, parts.path),
                (404, {"error": {"code": "not_found", "message": "no route"}}, {}),
            )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake = FakeApi(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("ENGINE_URL", fake.url)
    monkeypatch.delenv("ENGINE_WS_URL", raising=False)
    monkeypatch.delenv("API_KEY", raising=False)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def relay() -> Iterator[FakeRelay]:
    loop = asyncio.new_event_loop()
    port = free_port()
    fake = FakeRelay(f"ws://127.0.0.1:{port}")
    stop = asyncio.Event()
    ready = threading.Event()

    def process_request(conn: ServerConnection, request: Any) -> Any:
        fake.paths.append(request.path)
        if fake.reject:
            body = json.dumps({"error": {"code": "not_found", "message": "no such order"}})
            return conn.respond(http.HTTPStatus(fake.reject), body)
        return None

    async def handler(ws: ServerConnection) -> None:
        messages, close = fake.scripts.pop(0) if fake.scripts else ([], False)
        for m in messages:
            await ws.send(m)
        if not close:
            await ws.wait_closed()

    async def main_loop() -> None:
        async with serve(handler, "127.0.0.1", port, process_request=process_request):
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main_loop()), daemon=True)
    thread.start()
    assert ready.wait(5)
    yield fake
    loop.call_soon_threadsafe(stop.set)
    thread.join(5)
