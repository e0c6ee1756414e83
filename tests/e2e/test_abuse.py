"""Hostile clients against `order-engine up` (real gunicorn, relay and workers): market commands
need an operator key and bounded values, slow and idle connections don't stop the API,
gunicorn's own errors and chunked bodies get the contract's JSON, limits hold without keys,
and the pages and the relay leak nothing. No timed assertions: answers must arrive within
generous timeouts; bench/chaos/slowloris.py measures the latencies."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.chaos.slowloris import Attack, probe
from tests.e2e.conftest import Engine, running_engine

pytestmark = pytest.mark.e2e

CLIENT_KEY = "alice-key-0123456789abcdef"
OTHER_KEY = "bob-key-0123456789abcdef"
OPERATOR_KEY = "operator-key-0123456789abcdef"
ALICE = {"X-API-Key": CLIENT_KEY}
OPERATOR = {"X-API-Key": OPERATOR_KEY}
FINAL = {"filled", "failed", "rejected", "expired", "canceled"}


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def raw(port: int, data: bytes, timeout: float = 15.0) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
            head, sep, body = got.partition(b"\r\n\r\n")
            if sep and b"content-length:" in head.lower():
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def order(client: str = "alice", **over: Any) -> dict[str, Any]:
    return {"clientId": client, "symbol": "SOL/USDC", "side": "buy", "amount": "0.5", **over}


def wait_final(eng: Engine, oid: str, headers: dict[str, str], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        status, body, _ = eng.request("GET", f"/orders/{oid}", headers=headers)
        assert status == 200, body
        if body["status"] in FINAL:
            return body
        assert time.monotonic() < deadline, f"order {oid} stuck in {body['status']}"
        time.sleep(0.1)


@pytest.fixture
def keyed(pg_database: str, redis_prefix: str, tmp_path: Path) -> Iterator[Engine]:
    with running_engine(
        pg_database,
        redis_prefix,
        tmp_path,
        API_KEYS=f"{CLIENT_KEY}=alice,{OTHER_KEY}=bob",
        OPERATOR_API_KEYS=f"{OPERATOR_KEY}=ops",
        HEADER_TIMEOUT_S="2",
    ) as eng:
        yield eng


def test_market_commands_are_an_operators_and_bounded(keyed: Engine) -> None:
    price = {"symbol": "SOL/USDC", "price": "150"}
    assert keyed.request("POST", "/sim/price", price)[0] == 401
    status, body, _ = keyed.request("POST", "/sim/price", price, headers=ALICE)
    assert status == 403 and body["error"]["code"] == "forbidden"
    for bad in ("1e200000", "1e30", "NaN", "-1", "1"):
        status, body, _ = keyed.request(
            "POST", "/sim/price", {"symbol": "SOL/USDC", "price": bad}, headers=OPERATOR
        )
        assert status == 400 and body["error"]["field"] == "price", (bad, body)
    launch = {"symbol": "PUMP/SOL", "venue": "raydium", "baseReserve": "1e30", "quoteReserve": "1"}
    status, body, _ = keyed.request("POST", "/sim/launch", launch, headers=OPERATOR)
    assert status == 400 and body["error"]["field"] == "baseReserve"
    status, body, _ = keyed.request("POST", "/sim/price", price, headers=OPERATOR)
    assert status == 200, body
    # the market still trades, and /markets answers everyone
    status, created, _ = keyed.request("POST", "/orders", order(), headers=ALICE)
    assert status == 201, created
    assert wait_final(keyed, created["id"], ALICE)["status"] == "filled"
    assert keyed.request("GET", "/markets", headers=ALICE)[0] == 200


def test_gunicorn_errors_chunked_bodies_and_pages(keyed: Engine) -> None:
    port = port_of(keyed.http)
    for data, status in (
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET /" + b"a" * 6000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40000, 431),
    ):
        got, headers, body = raw(port, data)
        assert got == status, (data[:40], got, body[:200])
        assert headers["content-type"].startswith("application/json")
        assert json.loads(body)["error"]["code"]
    chunk = json.dumps(order()).encode()
    got, _, body = raw(
        port,
        b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-API-Key: "
        + CLIENT_KEY.encode()
        + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(chunk):x}\r\n".encode()
        + chunk
        + b"\r\n0\r\n\r\n",
    )
    assert got == 411 and json.loads(body)["error"]["code"] == "length_required"
    status, listed, _ = keyed.request("GET", "/orders", headers=ALICE)
    assert status == 200 and listed["orders"] == []  # nothing stored

    # a request head that trickles in is answered 408 and closed, the API carries on
    got, _, body = raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\n")
    assert got == 408 and json.loads(body)["error"]["code"] == "request_timeout"

    status, page, got_headers = keyed.request("GET", "/")
    headers = {k.lower(): v for k, v in got_headers.items()}
    assert status == 200
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
    _, cfg, _ = keyed.request(
        "GET", "/config.json", headers={"X-Forwarded-Host": "attacker:3199", "X-Forwarded-For": "1"}
    )
    assert "attacker" not in json.dumps(cfg)
    script = keyed.request("GET", "/static/app.js")[1]
    assert 'q.get("ws")' not in script


def ws_handshake(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        got = s.recv(65536).decode("latin-1")
    head = got.split("\r\n\r\n")[0].split("\r\n")
    return int(head[0].split()[1]), {
        k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in head[1:])
    }


def test_relay_key_rules_and_no_banner(keyed: Engine) -> None:
    port = port_of(keyed.ws)
    status, headers = ws_handshake(port, "/ws?clientId=alice", {"X-API-Key": CLIENT_KEY})
    assert status == 101 and "server" not in headers
    status, _ = ws_handshake(
        port,
        "/ws?clientId=alice",
        {"X-API-Key": CLIENT_KEY, "Authorization": f"Bearer {OTHER_KEY}"},
    )
    assert status == 401
    status, _ = ws_handshake(
        port, f"/ws?clientId=alice&apiKey={CLIENT_KEY}", {"X-API-Key": "wrong-key-0123456789"}
    )
    assert status == 401


def test_wrong_keys_are_rate_limited(keyed: Engine) -> None:
    codes = [
        keyed.request("GET", "/orders", headers={"X-API-Key": f"guess-{i:020d}"})[0]
        for i in range(40)
    ]
    assert codes[0] == 401 and codes[-1] == 429, codes
    assert keyed.request("GET", "/orders", headers=ALICE)[0] == 200  # the real client is not


def test_slow_and_idle_connections_do_not_stop_the_api(
    pg_database: str, redis_prefix: str, tmp_path: Path
) -> None:
    with running_engine(pg_database, redis_prefix, tmp_path, HEADER_TIMEOUT_S="10") as eng:
        port = port_of(eng.http)
        with Attack("127.0.0.1", port, idle=200, slow=50) as attack:
            time.sleep(3)
            health = [probe("127.0.0.1", port, "GET", "/health", 10) for _ in range(20)]
            orders = [probe("127.0.0.1", port, "POST", "/orders", 10) for _ in range(20)]
            held = sum(s is not None for s in attack.idle) + sum(e is not None for e in attack.slow)
        assert None not in health and None not in orders, (health, orders)
        assert held == 250  # the attack's connections were open all along


def test_limits_hold_without_keys(pg_database: str, redis_prefix: str, tmp_path: Path) -> None:
    with running_engine(
        pg_database,
        redis_prefix,
        tmp_path,
        RATE_LIMIT_PER_MIN="1000",
        RATE_LIMIT_PER_SOURCE_PER_MIN="30",
        WS_MAX_CONNECTIONS="2",
        API_MAX_CONNECTIONS_PER_SOURCE="5",
    ) as eng:
        # one address holds at most 5 connections on each of the 2 API processes
        held = [socket.create_connection(("127.0.0.1", port_of(eng.http))) for _ in range(30)]
        refused = 0
        for s in held:
            s.settimeout(5)
            try:
                refused += b" 429 " in s.recv(4096)
            except TimeoutError:
                pass
            s.close()
        assert 20 <= refused <= 25, refused
        codes = []
        for i in range(40):  # a new clientId each time, lists and cancels too
            kind = i % 3
            if kind == 0:
                codes.append(eng.request("POST", "/orders", order(f"c{i}"))[0])
            elif kind == 1:
                codes.append(eng.request("GET", f"/orders?clientId=c{i}")[0])
            else:
                codes.append(eng.request("DELETE", f"/orders/{uuid.uuid4()}")[0])
        assert 429 in codes and codes.index(429) >= 25, codes
        port = port_of(eng.ws)
        conns = []
        try:
            for i in range(2):
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                key = base64.b64encode(os.urandom(16)).decode()
                s.sendall(
                    f"GET /ws?clientId=w{i} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n".encode()
                )
                assert b" 101 " in s.recv(4096)
                conns.append(s)
            time.sleep(0.5)  # the relay counts a connection once its handler runs
            status, _ = ws_handshake(port, "/ws?clientId=w9", {})
            assert status == 503
        finally:
            for s in conns:
                s.close()
