"""A commit whose answer was lost, on the real PostgreSQL: a TCP proxy lets the API's INSERT
through, waits for the server's ReadyForQuery (the COMMIT has landed), and cuts the connection
instead of forwarding it. The API looks the order up by its id and answers 201 with it: one
order stored, queued once, where a 503 would have made a retry without idempotency key place
it twice."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest
import redis
from falcon import testing
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from service.api.app import create_app
from service.config import Settings
from tests.helpers.streams import stream_of

pytestmark = pytest.mark.integration

READY_IDLE = b"Z\x00\x00\x00\x05I"  # ReadyForQuery, idle: the statement's COMMIT is done


class CuttingProxy:
    """Forwards to PostgreSQL; once armed, the first INSERT INTO orders gets its answer cut."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.armed = threading.Event()
        self.cut = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            doomed = threading.Event()
            threading.Thread(target=self._up, args=(client, server, doomed), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, doomed), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, doomed: threading.Event) -> None:
        with client, server:
            while data := _recv(client):
                if self.armed.is_set() and b"INSERT INTO orders" in data:
                    self.armed.clear()
                    doomed.set()
                server.sendall(data)

    def _down(self, server: socket.socket, client: socket.socket, doomed: threading.Event) -> None:
        answer = b""
        while data := _recv(server):
            if doomed.is_set():
                answer += data
                if answer.endswith(READY_IDLE):  # landed: cut instead of answering
                    self.cut.set()
                    for s in (client, server):
                        with contextlib.suppress(OSError):
                            s.shutdown(socket.SHUT_RDWR)
                    return
                continue
            client.sendall(data)

    def close(self) -> None:
        self.sock.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


@pytest.fixture
def proxied(pg_schema: str) -> Iterator[tuple[CuttingProxy, str]]:
    params = conninfo_to_dict(pg_schema)
    proxy = CuttingProxy(str(params.get("host", "127.0.0.1")), int(params.get("port", 5432)))
    yield proxy, make_conninfo(pg_schema, host="127.0.0.1", port=proxy.port)
    proxy.close()


def test_insert_answer_lost_after_commit_201_one_order_queued_once(
    proxied: tuple[CuttingProxy, str],
    make_settings: Callable[..., Settings],
    redis_client: redis.Redis,
) -> None:
    proxy, dsn = proxied
    settings = make_settings(DATABASE_URL=dsn)
    client = testing.TestClient(create_app(settings))
    body = {"clientId": "c1", "symbol": "SOL/USDC", "side": "buy", "amount": "0.25"}
    assert client.simulate_post("/orders", json=body).status_code == 201  # warm, not cut
    proxy.armed.set()

    r = client.simulate_post("/orders", json={**body, "amount": "0.5"})

    assert proxy.cut.is_set()
    assert r.status_code == 201, r.text
    with psycopg.connect(make_settings().database_url) as conn:
        rows = conn.execute("SELECT id::text, amount FROM orders ORDER BY created_at").fetchall()
    assert len(rows) == 2 and rows[1][0] == r.json["id"]
    entries = [f[b"id"].decode() for _, f in redis_client.xrange(stream_of(settings))]
    assert entries == [row[0] for row in rows]
