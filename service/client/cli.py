"""`order-engine submit|watch|cancel|orders|quote|markets`: a client of a running engine.

It talks to the API over HTTP (stdlib `urllib`) and to the relay over WebSocket
(`websockets`), and needs nothing else of the service: no database, no settings.

- `--url` / `ENGINE_URL` (default http://127.0.0.1:3000): the API.
- `--ws-url` / `ENGINE_WS_URL`: the relay. When neither is given, the API's `/config.json`
  says where it is (same origin behind the docker compose front, port WS_PORT otherwise);
  if that fails, ws://127.0.0.1:3001.
- `API_KEY`: sent as `X-API-Key` over HTTP and as the `apiKey` query parameter over WebSocket.
- Output: readable tables, or the API's JSON with `--json`.
- Exit codes: 0 ok, 1 the API refused (4xx), 2 bad usage, 3 cannot connect or server error (5xx).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from service import __version__

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
DEFAULT_URL = "http://127.0.0.1:3000"
DEFAULT_WS_URL = "ws://127.0.0.1:3001"

SIDES = ("buy", "sell")
ORDER_TYPES = ("market", "limit", "sniper")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "GTD")
STATUSES = (
    "pending",
    "open",
    "routing",
    "building",
    "submitted",
    "confirmed",
    "partially_filled",
    "filled",
    "canceled",
    "expired",
    "rejected",
    "failed",
)
FINAL = frozenset({"filled", "canceled", "expired", "rejected", "failed"})
COMMANDS = ("submit", "watch", "cancel", "orders", "quote", "markets")

# How often `watch` reconnects after losing the socket before giving up.
RECONNECTS = 5


class ClientError(Exception):
    """Something to tell the user, with the exit code it means."""

    def __init__(self, message: str, code: int, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def error_message(status: int, body: Any, headers: Any = None) -> str:
    """The contract's error body `{"error": {"code", "message", "field"}}` as one line."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        text = f"{status} {err.get('code', 'error')}: {err.get('message', '')}".rstrip(": ")
        if err.get("field"):
            text += f" (field: {err['field']})"
    else:
        snippet = body if isinstance(body, str) else json.dumps(body)
        text = f"HTTP {status}" + (f": {snippet.strip()[:200]}" if snippet else "")
    retry = headers.get("Retry-After") if headers is not None else None
    if retry:
        text += f"; retry after {retry} s"
    return text


def _exit_code(status: int) -> int:
    return EXIT_API if 400 <= status < 500 else EXIT_UNREACHABLE


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


@dataclass
class Api:
    """The engine's HTTP API."""

    url: str = DEFAULT_URL
    api_key: str | None = None
    timeout: float = 10.0

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        ok: Iterable[int] = (),
    ) -> tuple[int, Any]:
        """(status, decoded body) of a 2xx answer (or of one listed in `ok`); any other answer
        raises ClientError with the contract's error message."""
        target = self.url.rstrip("/") + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            target += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(target, data=data, method=method)
        req.add_header("Accept", "application/json")
        req.add_header("User-Agent", f"order-engine-cli/{__version__}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.api_key:
            req.add_header("X-API-Key", self.api_key)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as e:
            payload = _decode(e.read())
            if e.code in set(ok):
                return e.code, payload
            message = error_message(e.code, payload, e.headers)
            raise ClientError(message, _exit_code(e.code), e.code) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ClientError(f"cannot connect to {self.url}: {reason}", EXIT_UNREACHABLE) from None


# --------------------------------------------------------------------------- output


def short(value: Any, width: int = 12) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def clock(ts: Any) -> str:
    """'2026-11-25T20:01:02.345Z' -> '20:01:02.345'."""
    text = "" if ts is None else str(ts)
    return text.split("T", 1)[1].rstrip("Z").split("+")[0] if "T" in text else text


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = [["" if c is None else str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """Aligned `name  value` lines, skipping empty values."""
    shown = [(k, v) for k, v in pairs if v not in (None, "", [])]
    width = max((len(k) for k, _ in shown), default=0)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in shown)


def order_text(o: dict[str, Any]) -> str:
    out = fields(
        [
            ("id", o.get("id")),
            ("status", o.get("status")),
            ("client", o.get("clientId")),
            ("clientOrderId", o.get("clientOrderId")),
            (
                "order",
                f"{o.get('type')} {o.get('side')} {o.get('amount')} {o.get('symbol')}"
                + (f" @ {o['limitPrice']}" if o.get("limitPrice") else ""),
            ),
            ("timeInForce", o.get("timeInForce") if o.get("type") != "market" else None),
            ("expiresAt", o.get("expiresAt")),
            ("slippageBps", o.get("slippageBps")),
            ("filled", f"{o.get('filled')} (remaining {o.get('remaining')})"),
            ("avgPrice", o.get("avgPrice")),
            ("quoteAmount", o.get("quoteAmount") if o.get("avgPrice") else None),
            ("fees", o.get("fees") if o.get("avgPrice") else None),
            ("txHash", o.get("txHash")),
            ("attempts", o.get("attempts")),
            ("failureReason", o.get("failureReason")),
            ("createdAt", o.get("createdAt")),
            ("updatedAt", o.get("updatedAt")),
        ]
    )
    fills = o.get("fills") or []
    if fills:
        out += "\n\n" + table(
            ["venue", "amount", "price", "quoteAmount", "fee", "txHash"],
            [
                [
                    f["venue"],
                    f["amount"],
                    f["price"],
                    f["quoteAmount"],
                    f["fee"],
                    short(f["txHash"]),
                ]
                for f in fills
            ],
        )
    return out


ORDER_COLUMNS = [
    "id",
    "created",
    "symbol",
    "side",
    "type",
    "amount",
    "filled",
    "avgPrice",
    "status",
]


def orders_text(orders: list[dict[str, Any]]) -> str:
    if not orders:
        return "no orders"
    return table(
        ORDER_COLUMNS,
        [
            [
                o["id"],
                o.get("createdAt"),
                o["symbol"],
                o["side"],
                o["type"],
                o["amount"],
                o["filled"],
                o.get("avgPrice") or "",
                o["status"],
            ]
            for o in orders
        ],
    )


def quote_text(q: dict[str, Any]) -> str:
    head = fields(
        [
            ("quote", f"{q['side']} {q['amount']} {q['symbol']}"),
            ("expectedPrice", q.get("expectedPrice")),
            ("quoteAmount", q.get("quoteAmount")),
            ("priceImpactBps", q.get("priceImpactBps")),
            ("fees", q.get("fees")),
            ("steps", " → ".join(q.get("steps") or [])),
            ("expiresAt", q.get("expiresAt")),
        ]
    )
    legs = q.get("legs") or []
    return (
        head
        + "\n\n"
        + table(
            ["venue", "amountIn", "amountOut", "fee", "priceImpactBps"],
            [
                [g["venue"], g["amountIn"], g["amountOut"], g["fee"], g["priceImpactBps"]]
                for g in legs
            ],
        )
    )


def markets_text(markets: list[dict[str, Any]]) -> str:
    rows = []
    for m in markets:
        venues = m.get("venues") or [{}]
        for v in venues:
            rows.append(
                [
                    m["symbol"],
                    m.get("referencePrice"),
                    "yes" if m.get("launched") else "no",
                    v.get("venue", "-"),
                    v.get("kind", ""),
                    v.get("price", ""),
                    v.get("baseReserve", ""),
                    v.get("quoteReserve", ""),
                    v.get("feeBps", ""),
                ]
            )
    return table(
        [
            "symbol",
            "reference",
            "launched",
            "venue",
            "kind",
            "price",
            "baseReserve",
            "quoteReserve",
            "feeBps",
        ],
        rows,
    )


def emit(out: TextIO, args: argparse.Namespace, data: Any, text: Callable[[Any], str]) -> None:
    out.write((json.dumps(data, indent=2) if args.json else text(data)) + "\n")


# --------------------------------------------------------------------------- commands


def order_body(args: argparse.Namespace) -> dict[str, Any]:
    """The POST /orders body from `submit`'s flags, which mirror it one to one."""
    body: dict[str, Any] = {
        "clientId": args.client_id,
        "symbol": args.symbol,
        "side": args.side,
        "amount": args.amount,
    }
    optional = {
        "type": args.type,
        "limitPrice": args.limit_price,
        "timeInForce": args.tif,
        "expiresAt": args.expires_at,
        "slippageBps": args.slippage_bps,
        "clientOrderId": args.client_order_id,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def cmd_submit(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    headers = {"Idempotency-Key": args.idempotency_key} if args.idempotency_key else None
    path = "/api/orders/execute" if args.execute_path else "/orders"
    status, order = api.request("POST", path, body=order_body(args), headers=headers)
    if args.json:
        out.write(json.dumps(order, indent=2) + "\n")
    else:
        note = "accepted" if status == 201 else "already accepted (same idempotency key)"
        out.write(f"{note}: {order['id']}\n{order_text(order)}\n")
    out.flush()
    if args.watch and order["status"] not in FINAL:
        target = Target(order_id=order["id"])
        return watch(api, args, target, out)
    return EXIT_OK


def cmd_cancel(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    try:
        order_id = str(uuid.UUID(args.id))
    except ValueError:
        raise ClientError(f"not an order id (UUID): {args.id!r}", EXIT_USAGE) from None
    status, body = api.request("DELETE", f"/orders/{order_id}", ok=(404, 409))
    if status == 404:
        raise ClientError(f"no such order: {order_id} ({error_message(status, body)})", EXIT_API)
    if status == 409:
        raise ClientError(f"cannot cancel {order_id}: {error_message(status, body)}", EXIT_API)
    if args.json:
        out.write(json.dumps(body, indent=2) + "\n")
    else:
        out.write(f"canceled: {order_id}\n{order_text(body)}\n")
    return EXIT_OK


def cmd_orders(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    if args.id:
        _, order = api.request("GET", f"/orders/{args.id}")
        emit(out, args, order, order_text)
        return EXIT_OK
    query = {
        "clientId": args.client_id,
        "status": args.status,
        "limit": args.limit,
        "cursor": args.cursor,
    }
    _, page = api.request("GET", "/orders", query=query)
    orders = list(page["orders"])
    pages = 1
    while args.all and page.get("nextCursor") and pages < args.max_pages:
        _, page = api.request("GET", "/orders", query={**query, "cursor": page["nextCursor"]})
        orders += page["orders"]
        pages += 1
    result = {"orders": orders, "nextCursor": page.get("nextCursor")}
    emit(out, args, result, lambda r: orders_text(r["orders"]))
    if result["nextCursor"] and not args.json:
        sys.stderr.write(f"more: --cursor {result['nextCursor']}\n")
    return EXIT_OK


def cmd_quote(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    query = {"symbol": args.symbol, "side": args.side, "amount": args.amount}
    _, q = api.request("GET", "/quote", query=query)
    emit(out, args, q, quote_text)
    return EXIT_OK


def cmd_markets(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    _, data = api.request("GET", "/markets")
    markets = data["markets"]
    if args.symbol:
        markets = [m for m in markets if m["symbol"] == args.symbol]
        if not markets:
            raise ClientError(f"no market {args.symbol!r}", EXIT_API)
    emit(out, args, {"markets": markets}, lambda d: markets_text(d["markets"]))
    return EXIT_OK


def cmd_watch(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    if args.order:
        try:
            uuid.UUID(args.order)
        except ValueError:
            raise ClientError(f"not an order id (UUID): {args.order!r}", EXIT_USAGE) from None
    target = Target(
        order_id=args.order,
        client_id=args.client_id,
        from_seq=args.from_seq,
        cursor=args.resume,
    )
    return watch(api, args, target, out)


# --------------------------------------------------------------------------- watch


@dataclass
class Target:
    """What `watch` follows: one order, or every order of a client."""

    order_id: str | None = None
    client_id: str | None = None
    from_seq: int = 0
    cursor: str | None = None  # client: replay the events after this cursor first

    def url(self, ws_url: str, api_key: str | None) -> str:
        if self.order_id:
            path = "/api/orders/execute"
            query: dict[str, Any] = {"orderId": self.order_id}
            if self.from_seq:
                query["fromSeq"] = self.from_seq
        else:
            path = "/ws"
            query = {"clientId": self.client_id}
            if self.cursor is not None:
                query["cursor"] = self.cursor
        if api_key:
            query["apiKey"] = api_key
        return ws_url.rstrip("/") + path + "?" + urllib.parse.urlencode(query)

    def describe(self) -> str:
        return f"order {self.order_id}" if self.order_id else f"client {self.client_id}"


EVENT_COLUMNS = ["seq", "status", "filled", "remaining", "avgPrice", "attempts", "tx", "time"]
CLIENT_COLUMNS = [
    "id",
    "status",
    "seq",
    "filled",
    "remaining",
    "avgPrice",
    "attempts",
    "tx",
    "time",
]


def _tx(p: dict[str, Any]) -> str:
    if p.get("failureReason"):
        return str(p["failureReason"])
    return short(p.get("txHash"))


@dataclass
class WatchView:
    """The live table: one row per event of an order, or one row per order of a client.

    On a terminal the table is redrawn in place; otherwise each event is printed as a row
    as it comes (so a log or a pipe reads top to bottom); `--json` prints each payload.
    """

    target: Target
    out: TextIO
    json_lines: bool = False
    live: bool = False
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    drawn: int = 0
    header_done: bool = False
    done: bool = False
    last_seq: int = 0
    last_cursor: str | None = None  # the cursor of the last message: where to resume

    def add(self, payload: dict[str, Any]) -> None:
        if isinstance(payload.get("cursor"), str):
            self.last_cursor = payload["cursor"]
        seq = int(payload.get("seq") or 0)
        if self.target.order_id:
            key = str(seq)
            if key in self.rows:  # replayed after a reconnect
                return
            self.last_seq = max(self.last_seq, seq)
        else:
            key = str(payload.get("id"))
            old = self.rows.get(key)
            if old is not None and int(old.get("seq") or 0) >= seq:
                return
        self.rows[key] = payload
        if self.target.order_id and payload.get("status") in FINAL:
            self.done = True
        if self.json_lines:
            self.out.write(json.dumps(payload) + "\n")
        elif self.live:
            self.redraw()
        else:
            self.print_row(payload)
        self.out.flush()

    def row(self, p: dict[str, Any]) -> list[Any]:
        cells = [
            p.get("status"),
            p.get("filled"),
            p.get("remaining"),
            p.get("avgPrice") or "",
            p.get("attempts"),
            _tx(p),
            clock(p.get("ts")),
        ]
        if self.target.order_id:
            return [p.get("seq"), *cells]
        return [p.get("id"), cells[0], p.get("seq"), *cells[1:]]

    def columns(self) -> list[str]:
        return EVENT_COLUMNS if self.target.order_id else CLIENT_COLUMNS

    def render(self) -> str:
        title = f"watching {self.target.describe()}"
        title += " — done" if self.done else " — live, Ctrl-C to stop"
        body = table(self.columns(), [self.row(p) for p in self.rows.values()])
        return f"{title}\n{body}"

    def redraw(self) -> None:
        text = self.render()
        if self.drawn:
            self.out.write(f"\x1b[{self.drawn}F\x1b[J")
        self.out.write(text + "\n")
        self.drawn = text.count("\n") + 1

    def print_row(self, payload: dict[str, Any]) -> None:
        widths = (
            [4, 16, 14, 14, 14, 8, 14, 12]
            if self.target.order_id
            else [36, 16, 4, 14, 14, 14, 8, 14, 12]
        )
        if not self.header_done:
            self.out.write(f"watching {self.target.describe()}\n")
            self.out.write(_fixed([c.upper() for c in self.columns()], widths) + "\n")
            self.header_done = True
        self.out.write(_fixed(self.row(payload), widths) + "\n")


def _fixed(cells: Sequence[Any], widths: Sequence[int]) -> str:
    return "  ".join(
        ("" if c is None else str(c)).ljust(w) for c, w in zip(cells, widths, strict=True)
    ).rstrip()


def resolve_ws_url(api: Api, args: argparse.Namespace) -> str:
    """--ws-url, else ENGINE_WS_URL, else what the API's /config.json says, else the default."""
    if args.ws_url:
        return str(args.ws_url)
    if os.environ.get("ENGINE_WS_URL"):
        return os.environ["ENGINE_WS_URL"]
    try:
        _, config = api.request("GET", "/config.json")
    except ClientError:
        return DEFAULT_WS_URL
    return ws_url_from_config(api.url, config)


def ws_url_from_config(http_url: str, config: Any) -> str:
    """The relay's URL as seen from `http_url`, by the API's /config.json: the same origin
    behind a proxy (docker compose's front), else the same host on port `wsPort`."""
    if not isinstance(config, dict):
        return DEFAULT_WS_URL
    parts = urllib.parse.urlsplit(http_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    if config.get("sameOrigin"):
        return f"{scheme}://{parts.netloc}"
    port = config.get("wsPort")
    if not isinstance(port, int) or not parts.hostname:
        return DEFAULT_WS_URL
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}:{port}"


def watch(api: Api, args: argparse.Namespace, target: Target, out: TextIO) -> int:
    view = WatchView(
        target, out, json_lines=args.json, live=not args.json and not args.no_live and out.isatty()
    )
    ws_url = resolve_ws_url(api, args)
    try:
        asyncio.run(_watch(ws_url, api.api_key, view, args.timeout_s))
    except KeyboardInterrupt:
        pass
    return EXIT_OK


async def _watch(ws_url: str, api_key: str | None, view: WatchView, timeout: float | None) -> None:
    try:
        async with asyncio.timeout(timeout):
            await _follow(ws_url, api_key, view)
    except TimeoutError:
        return


async def _follow(ws_url: str, api_key: str | None, view: WatchView) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import (
        ConnectionClosed,
        InvalidStatus,
        InvalidURI,
        WebSocketException,
    )

    target = view.target
    failures = 0
    while not view.done:
        # After a drop, resume where the view is: no event lost, none shown twice.
        if view.last_seq:
            target.from_seq = view.last_seq
        if view.last_cursor is not None and not target.order_id:
            target.cursor = view.last_cursor
        url = target.url(ws_url, api_key)
        try:
            async with connect(url, open_timeout=10, max_size=2**20) as ws:
                failures = 0
                async for raw in ws:
                    msg = json.loads(raw)
                    if isinstance(msg, dict) and msg.get("event") == "order:update":
                        view.add(msg["payload"])
                        if view.done:
                            return
        except InvalidStatus as e:
            status = e.response.status_code
            body = _decode(bytes(e.response.body or b""))
            raise ClientError(error_message(status, body), _exit_code(status), status) from None
        except InvalidURI:
            raise ClientError(f"not a WebSocket URL: {ws_url}", EXIT_USAGE) from None
        except (OSError, TimeoutError, ConnectionClosed, WebSocketException) as e:
            failures += 1
            if failures > RECONNECTS:
                raise ClientError(
                    f"cannot connect to {ws_url}: {e or type(e).__name__}", EXIT_UNREACHABLE
                ) from None
            await asyncio.sleep(min(0.25 * 2**failures, 4.0))


# --------------------------------------------------------------------------- parser


HANDLERS: dict[str, Callable[[Api, argparse.Namespace, TextIO], int]] = {
    "submit": cmd_submit,
    "watch": cmd_watch,
    "cancel": cmd_cancel,
    "orders": cmd_orders,
    "quote": cmd_quote,
    "markets": cmd_markets,
}


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection and output")
    group.add_argument(
        "--url", help=f"the engine's HTTP API (env ENGINE_URL, default {DEFAULT_URL})"
    )
    group.add_argument(
        "--ws-url",
        help="the WebSocket relay (env ENGINE_WS_URL; default: what the API's /config.json "
        f"says, else {DEFAULT_WS_URL})",
    )
    group.add_argument("--json", action="store_true", help="print the API's JSON")
    group.add_argument(
        "--http-timeout", type=float, default=10.0, metavar="S", help="HTTP timeout (10 s)"
    )
    return common


def _watch_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--timeout",
        dest="timeout_s",
        type=float,
        metavar="S",
        help="stop watching after S seconds (default: until final / Ctrl-C)",
    )
    p.add_argument(
        "--no-live", action="store_true", help="print rows as they come, even on a terminal"
    )


def add_parsers(sub: Any) -> None:
    """Register the client subcommands on `order-engine`'s subparsers."""
    common = [_common()]
    epilog = (
        "API_KEY (env) is sent as X-API-Key. Exit codes: 0 ok, 1 refused by the API (4xx), "
        "2 bad usage, 3 cannot connect or server error."
    )

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name, help=help_text, description=help_text, parents=common, epilog=epilog
        )
        p.set_defaults(client_command=name)
        return p

    p = add("submit", "submit an order (POST /orders); flags mirror the body")
    p.add_argument("--client-id", required=True, help="clientId")
    p.add_argument("--symbol", required=True, help="market, e.g. SOL/USDC")
    p.add_argument("--side", required=True, choices=SIDES)
    p.add_argument("--amount", required=True, help="quantity of the BASE token, e.g. 1.5")
    p.add_argument("--type", choices=ORDER_TYPES, help="order type (default market)")
    p.add_argument("--limit-price", help="limitPrice: required for limit, a cap for sniper")
    p.add_argument("--tif", choices=TIME_IN_FORCE, help="timeInForce (default GTC)")
    p.add_argument("--expires-at", help="expiresAt for GTD, e.g. 2026-12-01T00:00:00Z")
    p.add_argument("--slippage-bps", type=int, help="slippageBps 0..5000 (default 50)")
    p.add_argument("--client-order-id", help="clientOrderId: your id, makes retries safe")
    p.add_argument("--idempotency-key", help="Idempotency-Key header")
    p.add_argument(
        "--execute-path",
        action="store_true",
        help="post to /api/orders/execute (same body) instead of /orders",
    )
    p.add_argument("--watch", action="store_true", help="then watch it until final")
    _watch_flags(p)

    p = add("watch", "watch live events of an order or of every order of a client")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--order", metavar="ID", help="one order (ends when it is final)")
    who.add_argument("--client-id", help="every order of this client")
    p.add_argument("--from-seq", type=int, default=0, help="order: replay events after this seq")
    p.add_argument(
        "--resume",
        metavar="CURSOR",
        help="client: first replay the stored events after this cursor (a message's `cursor`)",
    )
    _watch_flags(p)

    p = add("cancel", "cancel an order (DELETE /orders/{id})")
    p.add_argument("id", help="order id")

    p = add("orders", "list orders, newest first (GET /orders), or show one with --id")
    p.add_argument("--id", help="show this order (GET /orders/{id}) with its fills")
    p.add_argument("--client-id", help="only this client's orders")
    p.add_argument("--status", choices=STATUSES, help="only orders in this status")
    p.add_argument("--limit", type=int, help="page size 1..200 (default 50)")
    p.add_argument("--cursor", help="the page after this cursor (nextCursor)")
    p.add_argument("--all", action="store_true", help="follow nextCursor to the end")
    p.add_argument("--max-pages", type=int, default=100, help="with --all, at most this many pages")

    p = add("quote", "preview the route and price of an order (GET /quote)")
    p.add_argument("--symbol", required=True)
    p.add_argument("--side", required=True, choices=SIDES)
    p.add_argument("--amount", required=True, help="quantity of the BASE token")

    p = add("markets", "markets and each venue's price and liquidity (GET /markets)")
    p.add_argument("--symbol", help="only this market")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run a client subcommand; returns the exit code, messages on stderr."""
    out = out or sys.stdout
    api = Api(
        url=args.url or os.environ.get("ENGINE_URL") or DEFAULT_URL,
        api_key=os.environ.get("API_KEY") or None,
        timeout=args.http_timeout,
    )
    try:
        return HANDLERS[args.client_command](api, args, out)
    except ClientError as e:
        sys.stderr.write(f"order-engine {args.client_command}: {e}\n")
        return e.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
