"""The CLI client (service/client/cli.py) through `order-engine`'s real parser, against a small
stdlib HTTP server and a `websockets` server that record what they get: flags -> requests,
answers -> output and exit codes."""

from __future__ import annotations

import asyncio
import http
import io
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from service.client import http as client_http
from service.client import render, watch
from service.runtime.cli import main

OID = "4b0c1e8e-0000-4000-8000-000000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def order(**over: Any) -> dict[str, Any]:
    o = {
        "id": OID,
        "clientId": "c1",
        "clientOrderId": None,
        "symbol": "SOL/USDC",
        "side": "buy",
        "type": "market",
        "timeInForce": "GTC",
        "amount": "1.5",
        "limitPrice": None,
        "expiresAt": None,
        "slippageBps": 50,
        "status": "pending",
        "filled": "0",
        "remaining": "1.5",
        "avgPrice": None,
        "quoteAmount": "0",
        "fees": "0",
        "route": None,
        "fills": [],
        "txHash": None,
        "attempts": 0,
        "failureReason": None,
        "createdAt": "2026-11-25T20:01:02.345Z",
        "updatedAt": "2026-11-25T20:01:02.345Z",
        "seq": 1,
    }
    o.update(over)
    return o


# --------------------------------------------------------------------------- fake API


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeApi:
    url: str
    routes: dict[tuple[str, str], tuple[int, Any, dict[str, str]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def answer(
        self, method: str, path: str, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        self.routes[(method, path)] = (status, body, headers or {})


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


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- submit


def test_submit_flags_map_one_to_one_onto_the_order_body(api, capsys, monkeypatch):
    monkeypatch.setenv("API_KEY", "k-123")
    api.answer("POST", "/orders", 201, order(type="limit", limitPrice="150.25"))
    code, out, err = run(
        [
            "submit",
            "--client-id", "c1",
            "--symbol", "SOL/USDC",
            "--side", "buy",
            "--amount", "1.5",
            "--type", "limit",
            "--limit-price", "150.25",
            "--tif", "GTD",
            "--expires-at", "2026-12-01T00:00:00Z",
            "--slippage-bps", "75",
            "--client-order-id", "abc-1",
            "--idempotency-key", "idem-9",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    (req,) = api.seen
    assert (req.method, req.path) == ("POST", "/orders")
    assert req.body == {
        "clientId": "c1",
        "symbol": "SOL/USDC",
        "side": "buy",
        "amount": "1.5",
        "type": "limit",
        "limitPrice": "150.25",
        "timeInForce": "GTD",
        "expiresAt": "2026-12-01T00:00:00Z",
        "slippageBps": 75,
        "clientOrderId": "abc-1",
    }
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-api-key"] == "k-123"
    assert req.headers["idempotency-key"] == "idem-9"
    assert f"accepted: {OID}" in out and "limit buy 1.5 SOL/USDC @ 150.25" in out


def test_submit_sends_only_the_flags_given_and_can_use_the_brief_path(api, capsys):
    api.answer("POST", "/api/orders/execute", 201, order())
    code, out, _ = run(
        ["submit", "--client-id", "c1", "--symbol", "SOL/USDC", "--side", "sell",
         "--amount", "2", "--execute-path", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0
    (req,) = api.seen
    assert req.path == "/api/orders/execute"
    assert req.body == {"clientId": "c1", "symbol": "SOL/USDC", "side": "sell", "amount": "2"}
    assert "x-api-key" not in req.headers
    assert json.loads(out)["id"] == OID


def test_submit_idempotent_retry_says_so(api, capsys):
    api.answer("POST", "/orders", 200, order())
    code, out, _ = run(
        ["submit", "--client-id", "c1", "--symbol", "SOL/USDC", "--side", "buy", "--amount", "1"],
        capsys,
    )
    assert code == 0 and "already accepted" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["submit", "--client-id", "c1", "--symbol", "SOL/USDC", "--side", "buy"],  # no amount
        ["submit", "--client-id", "c1", "--symbol", "S", "--side", "BUY", "--amount", "1"],
        ["submit", "--client-id", "c1", "--symbol", "S", "--side", "buy", "--amount", "1",
         "--tif", "day"],
        ["submit", "--client-id", "c1", "--symbol", "S", "--side", "buy", "--amount", "1",
         "--slippage-bps", "ten"],
        ["watch"],
        ["watch", "--order", OID, "--client-id", "c1"],
        ["orders", "--status", "done"],
        ["quote", "--symbol", "SOL/USDC", "--side", "buy"],
    ],
)  # fmt: skip
def test_bad_usage_exits_2_before_any_request(api, capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert api.seen == []
    assert "usage:" in capsys.readouterr().err


def test_api_refusal_prints_the_contract_error_and_exits_1(api, capsys):
    api.answer(
        "POST",
        "/orders",
        400,
        {
            "error": {
                "code": "invalid_value",
                "message": "amount must be positive",
                "field": "amount",
            }
        },
    )
    code, out, err = run(
        ["submit", "--client-id", "c1", "--symbol", "SOL/USDC", "--side", "buy", "--amount", "-1"],
        capsys,
    )
    assert code == 1 and out == ""
    assert "400 invalid_value: amount must be positive (field: amount)" in err


def test_rate_limited_shows_retry_after_and_exits_1(api, capsys):
    api.answer(
        "GET", "/markets", 429, {"error": {"code": "rate_limited", "message": "slow down"}},
        {"Retry-After": "3"},
    )  # fmt: skip
    code, _, err = run(["markets"], capsys)
    assert code == 1 and "429 rate_limited: slow down; retry after 3 s" in err


def test_server_error_exits_3(api, capsys):
    api.answer(
        "GET", "/markets", 503, {"error": {"code": "unavailable", "message": "postgres is down"}}
    )
    code, _, err = run(["markets"], capsys)
    assert code == 3 and "503 unavailable: postgres is down" in err


def test_nothing_listening_exits_3_naming_the_url(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(["markets", "--url", url], capsys)
    assert code == 3 and f"cannot connect to {url}" in err


# --------------------------------------------------------------------------- cancel


def test_cancel_deletes_the_order_and_prints_it(api, capsys):
    api.answer("DELETE", f"/orders/{OID}", 200, order(status="canceled"))
    code, out, _ = run(["cancel", OID], capsys)
    assert code == 0
    assert [(s.method, s.path) for s in api.seen] == [("DELETE", f"/orders/{OID}")]
    assert f"canceled: {OID}" in out and "status" in out


def test_cancel_unknown_order_exits_1(api, capsys):
    api.answer(
        "DELETE",
        f"/orders/{OID}",
        404,
        {"error": {"code": "not_found", "message": "no such order", "field": "id"}},
    )
    code, _, err = run(["cancel", OID], capsys)
    assert code == 1 and f"no such order: {OID}" in err


def test_cancel_final_order_exits_1_with_the_reason(api, capsys):
    api.answer(
        "DELETE",
        f"/orders/{OID}",
        409,
        {"error": {"code": "order_final", "message": "the order is already filled"}},
    )
    code, _, err = run(["cancel", OID], capsys)
    assert code == 1 and f"cannot cancel {OID}" in err and "already filled" in err


def test_cancel_refuses_a_non_uuid_without_asking(api, capsys):
    code, _, err = run(["cancel", "42"], capsys)
    assert code == 2 and api.seen == [] and "UUID" in err


# --------------------------------------------------------------------------- orders, quote, markets


def test_orders_filters_become_the_query_and_all_follows_the_cursor(api, capsys):
    first = {"orders": [order()], "nextCursor": "abc"}
    api.answer("GET", "/orders", 200, first)
    code, out, err = run(
        ["orders", "--client-id", "c1", "--status", "filled", "--limit", "1", "--all",
         "--max-pages", "3"],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert len(api.seen) == 3  # the fake always says there is more: stops at --max-pages
    assert api.seen[0].query == {"clientId": ["c1"], "status": ["filled"], "limit": ["1"]}
    assert api.seen[1].query["cursor"] == ["abc"]
    lines = out.splitlines()
    assert lines[0].split() == [c.upper() for c in render.ORDER_COLUMNS]
    assert len(lines) == 4 and all(OID in line for line in lines[1:])
    assert "more: --cursor abc" in err


def test_orders_id_shows_one_order_with_its_fills(api, capsys):
    fill = {"venue": "raydium", "amount": "1.5", "price": "150.1", "quoteAmount": "225.15",
            "fee": "0.56", "txHash": "3xYabcdefghijk", "ts": "2026-11-25T20:01:03Z"}  # fmt: skip
    api.answer("GET", f"/orders/{OID}", 200, order(status="filled", fills=[fill], avgPrice="150.1"))
    code, out, _ = run(["orders", "--id", OID], capsys)
    assert code == 0
    assert "filled" in out and "raydium" in out and "150.1" in out


def test_quote_maps_flags_to_the_query_and_prints_legs(api, capsys):
    q = {
        "symbol": "SOL/USDC", "side": "buy", "amount": "10", "expectedPrice": "150.4",
        "quoteAmount": "1504", "priceImpactBps": 3, "fees": "3.76",
        "legs": [{"venue": "raydium", "amountIn": "1504", "amountOut": "10", "fee": "3.76",
                  "priceImpactBps": 3}],
        "steps": ["swap", "unwrap_sol"], "expiresAt": "2026-11-25T20:01:12Z",
    }  # fmt: skip
    api.answer("GET", "/quote", 200, q)
    code, out, _ = run(["quote", "--symbol", "SOL/USDC", "--side", "buy", "--amount", "10"], capsys)
    assert code == 0
    assert api.seen[0].query == {"symbol": ["SOL/USDC"], "side": ["buy"], "amount": ["10"]}
    assert "150.4" in out and "swap → unwrap_sol" in out and "raydium" in out


def test_markets_table_has_a_row_per_venue_and_filters_by_symbol(api, capsys):
    markets = {
        "markets": [
            {"symbol": "SOL/USDC", "launched": True, "referencePrice": "150",
             "venues": [{"venue": "raydium", "kind": "cpmm", "price": "150", "baseReserve": "1",
                         "quoteReserve": "150", "feeBps": 25},
                        {"venue": "meteora", "kind": "dlmm", "price": "151"}]},
            {"symbol": "PUMP/SOL", "launched": False, "referencePrice": "0.001", "venues": []},
        ]
    }  # fmt: skip
    api.answer("GET", "/markets", 200, markets)
    code, out, _ = run(["markets"], capsys)
    assert code == 0
    rows = out.splitlines()[1:]
    assert len(rows) == 3 and "PUMP/SOL" in rows[2] and " no " in rows[2]
    code, out, _ = run(["markets", "--symbol", "SOL/USDC", "--json"], capsys)
    assert [m["symbol"] for m in json.loads(out)["markets"]] == ["SOL/USDC"]
    code, _, err = run(["markets", "--symbol", "NOPE/X"], capsys)
    assert code == 1 and "no market" in err


# --------------------------------------------------------------------------- watch


def event(seq: int, status: str, oid: str = OID, **over: Any) -> str:
    p = {
        "id": oid, "status": status, "seq": seq, "eventId": 100 + seq,
        "filled": "1.5" if status in ("confirmed", "filled") else "0",
        "remaining": "0" if status in ("confirmed", "filled") else "1.5",
        "avgPrice": "150.1" if status in ("confirmed", "filled") else None,
        "txHash": "3xYabcdefghijk" if status in ("confirmed", "filled") else None,
        "failureReason": None, "attempts": 1, "ts": f"2026-11-25T20:01:0{seq}.000Z",
    }  # fmt: skip
    p.update(over)
    return json.dumps({"event": "order:update", "payload": p})


SIX = ["pending", "routing", "building", "submitted", "confirmed", "filled"]


@dataclass
class FakeRelay:
    url: str
    paths: list[str] = field(default_factory=list)
    # One script per connection: the messages to send, then None = close, or keep open.
    scripts: list[tuple[list[str], bool]] = field(default_factory=list)
    reject: int | None = None


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


def test_watch_order_prints_each_event_and_ends_when_final(api, relay, capsys, monkeypatch):
    monkeypatch.setenv("API_KEY", "k 1")
    relay.scripts = [([event(i + 1, s) for i, s in enumerate(SIX)], False)]
    code, out, err = run(
        ["watch", "--order", OID, "--ws-url", relay.url, "--timeout", "10"], capsys
    )
    assert code == 0, err
    (path,) = relay.paths
    parts = urllib.parse.urlsplit(path)
    assert parts.path == "/api/orders/execute"
    assert urllib.parse.parse_qs(parts.query) == {"orderId": [OID], "apiKey": ["k 1"]}
    lines = out.splitlines()
    assert lines[0] == f"watching order {OID}"
    assert lines[1].split() == [c.upper() for c in watch.EVENT_COLUMNS]
    assert [line.split()[1] for line in lines[2:]] == SIX
    assert "150.1" in lines[-1] and "3xYabcdefg" in lines[-1]


def test_watch_resumes_after_a_dropped_socket_from_the_last_seq(api, relay, capsys):
    relay.scripts = [
        ([event(i + 1, s) for i, s in enumerate(SIX[:3])], True),
        ([event(3, "building")] + [event(i + 4, s) for i, s in enumerate(SIX[3:])], False),
    ]
    code, out, err = run(
        ["watch", "--order", OID, "--ws-url", relay.url, "--timeout", "15", "--json"], capsys
    )
    assert code == 0, err
    assert len(relay.paths) == 2 and "fromSeq=3" in relay.paths[1]
    seqs = [json.loads(line)["seq"] for line in out.splitlines()]
    assert seqs == [1, 2, 3, 4, 5, 6]  # the replayed 3 is not shown twice


def test_watch_client_keeps_one_row_per_order_until_timeout(api, relay, capsys):
    other = "4b0c1e8e-0000-4000-8000-000000000002"
    relay.scripts = [
        ([event(1, "pending"), event(1, "pending", other), event(2, "routing")], False)
    ]
    view_out = io.StringIO()
    view = watch.WatchView(watch.Target(client_id="c1"), view_out)
    code, out, err = run(
        ["watch", "--client-id", "c1", "--ws-url", relay.url, "--timeout", "1"], capsys
    )
    assert code == 0, err
    assert relay.paths[0] == "/ws?clientId=c1"
    assert len(out.splitlines()) == 2 + 3
    # The table a terminal shows: one row per order, at its latest status.
    for raw in [event(1, "pending"), event(1, "pending", other), event(2, "routing")]:
        view.add(json.loads(raw)["payload"])
    rows = view.render().splitlines()[2:]
    assert len(rows) == 2 and "routing" in rows[0] and "pending" in rows[1]


def test_watch_refused_by_the_relay_exits_1_with_its_message(api, relay, capsys):
    relay.reject = 404
    code, _, err = run(["watch", "--order", OID, "--ws-url", relay.url], capsys)
    assert code == 1 and "404 not_found: no such order" in err, err


def test_watch_with_nothing_listening_exits_3(api, capsys, monkeypatch):
    monkeypatch.setattr(watch, "RECONNECTS", 0)
    url = f"ws://127.0.0.1:{free_port()}"
    code, _, err = run(["watch", "--order", OID, "--ws-url", url], capsys)
    assert code == 3 and f"cannot connect to {url}" in err


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_watch_on_a_terminal_redraws_the_table_in_place():
    out = Tty()
    view = watch.WatchView(watch.Target(order_id=OID), out, live=True)
    for i, s in enumerate(SIX[:2]):
        view.add(json.loads(event(i + 1, s))["payload"])
    text = out.getvalue()
    assert "\x1b[3F\x1b[J" in text  # back over the first drawing (title, header, 1 row)
    assert text.rstrip().endswith(view.render().splitlines()[-1])


def test_ws_url_comes_from_the_api_config_unless_given(api, monkeypatch):
    args = type("A", (), {"ws_url": None})()
    engine = client_http.Api(api.url)
    api.answer("GET", "/config.json", 200, {"wsPort": 3001, "sameOrigin": False})
    assert watch.resolve_ws_url(engine, args) == "ws://127.0.0.1:3001"
    api.answer("GET", "/config.json", 200, {"wsPort": 3001, "sameOrigin": True})
    assert watch.resolve_ws_url(engine, args) == api.url.replace("http://", "ws://")
    assert watch.ws_url_from_config("https://x.example:8443", {"sameOrigin": True}) == (
        "wss://x.example:8443"
    )
    monkeypatch.setenv("ENGINE_WS_URL", "ws://elsewhere:9")
    assert watch.resolve_ws_url(engine, args) == "ws://elsewhere:9"
    args.ws_url = "ws://flag:1"
    assert watch.resolve_ws_url(engine, args) == "ws://flag:1"
    monkeypatch.delenv("ENGINE_WS_URL")
    api.routes.pop(("GET", "/config.json"))
    args.ws_url = None
    assert watch.resolve_ws_url(engine, args) == watch.DEFAULT_WS_URL


def test_prices_are_rounded_to_the_quote_tokens_digits() -> None:
    assert render.round_price("150.4413123456", 6) == "150.441"
    assert render.round_price("0.0000002058401234", 9) == "0.000000205840123"
    assert render.round_price("1234567.891", 6) == "1234568"  # integer digits stay
    assert render.round_price("150.4413", None) == "150.4413"  # market unknown: as sent
    text = render.orders_text(
        [order(type="limit", limitPrice="140.123456", avgPrice="139.98765432", status="failed",
               failureReason="rpc_timeout")],
        {"SOL/USDC": 6},
    )  # fmt: skip
    row = text.splitlines()[1].split()
    assert "140.123" in row and "139.988" in row and row[-1] == "rpc_timeout"


def test_watch_of_a_client_shows_symbol_side_type_and_the_retried_error() -> None:
    out = io.StringIO()
    view = watch.WatchView(watch.Target(client_id="c1"), out)
    view.orders[OID] = order(side="sell", type="limit")
    view.add({"id": OID, "status": "routing", "seq": 3, "attempts": 2, "lastError": "rpc_timeout"})
    header, row = out.getvalue().splitlines()[1:3]
    assert header.split()[:5] == ["ID", "SYMBOL", "SIDE", "TYPE", "STATUS"]
    assert row.split()[:5] == [OID, "SOL/USDC", "sell", "limit", "routing"]
    assert "retry: rpc_timeout" in row
