"""`order-engine watch`: follow one order, or every order of a client, over the relay's
WebSocket, as a table that updates (on a terminal) or rows as they come (in a pipe).

After a dropped connection it resumes where the view is (`fromSeq` / `afterEventId`), so no
event is lost and none shown twice. A client's rows carry each order's symbol, side and type
(read once per order from GET /orders/{id}: the event payloads do not repeat them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from service.client.http import (
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Api,
    ClientError,
    decode,
    error_message,
    exit_code,
)
from service.client.render import Digits, clock, price, short, table

DEFAULT_WS_URL = "ws://127.0.0.1:3001"
FINAL = frozenset({"filled", "canceled", "expired", "rejected", "failed"})
RECONNECTS = 5  # reconnections after losing the socket before giving up


@dataclass
class Target:
    """What `watch` follows: one order, or every order of a client."""

    order_id: str | None = None
    client_id: str | None = None
    from_seq: int = 0
    after_event_id: int | None = None

    def url(self, ws_url: str, api_key: str | None) -> str:
        if self.order_id:
            path = "/api/orders/execute"
            query: dict[str, Any] = {"orderId": self.order_id}
            if self.from_seq:
                query["fromSeq"] = self.from_seq
        else:
            path = "/ws"
            query = {"clientId": self.client_id}
            if self.after_event_id is not None:
                query["afterEventId"] = self.after_event_id
        if api_key:
            query["apiKey"] = api_key
        return ws_url.rstrip("/") + path + "?" + urllib.parse.urlencode(query)

    def describe(self) -> str:
        return f"order {self.order_id}" if self.order_id else f"client {self.client_id}"


EVENT_COLUMNS = ["seq", "status", "filled", "remaining", "avgPrice", "attempts", "tx", "time"]
CLIENT_COLUMNS = [
    "id",
    "symbol",
    "side",
    "type",
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
    """The final failure, else the error of the attempt being retried, else the tx."""
    if p.get("failureReason"):
        return str(p["failureReason"])
    if p.get("lastError") and p.get("status") == "routing":
        return f"retry: {p['lastError']}"
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
    last_event_id: int | None = None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> the order
    digits: Digits = field(default_factory=dict)

    def add(self, payload: dict[str, Any]) -> None:
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
        if payload.get("eventId") is not None:
            self.last_event_id = max(self.last_event_id or 0, int(payload["eventId"]))
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
            self._price(p, "avgPrice"),
            p.get("attempts"),
            _tx(p),
            clock(p.get("ts")),
        ]
        if self.target.order_id:
            return [p.get("seq"), *cells]
        o = self.orders.get(str(p.get("id"))) or {}
        what = [o.get("symbol", ""), o.get("side", ""), o.get("type", "")]
        return [p.get("id"), *what, cells[0], p.get("seq"), *cells[1:]]

    def _price(self, p: dict[str, Any], name: str) -> str:
        oid = str(p.get("id") or self.target.order_id)
        symbol = (self.orders.get(oid) or {}).get("symbol")
        return price(self.digits, symbol, p.get(name))

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
            else [36, 10, 4, 6, 16, 4, 14, 14, 14, 8, 14, 12]
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
    if not args.json:
        view.digits = api.quote_decimals()
        if target.order_id:
            view.orders[target.order_id] = _order(api, target.order_id)
    try:
        asyncio.run(_watch(ws_url, api, view, args.timeout_s))
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _order(api: Api, order_id: str) -> dict[str, Any]:
    try:
        _, order = api.request("GET", f"/orders/{order_id}")
    except ClientError:
        return {}
    return order if isinstance(order, dict) else {}


async def _watch(ws_url: str, api: Api, view: WatchView, timeout: float | None) -> None:
    try:
        async with asyncio.timeout(timeout):
            await _follow(ws_url, api, view)
    except TimeoutError:
        return


async def _follow(ws_url: str, api: Api, view: WatchView) -> None:
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
        if view.last_event_id is not None and not target.order_id:
            target.after_event_id = view.last_event_id
        url = target.url(ws_url, api.api_key)
        try:
            async with connect(url, open_timeout=10, max_size=2**20) as ws:
                failures = 0
                async for raw in ws:
                    msg = json.loads(raw)
                    if isinstance(msg, dict) and msg.get("event") == "order:update":
                        payload = msg["payload"]
                        oid = str(payload.get("id"))
                        if not view.json_lines and oid not in view.orders:
                            view.orders[oid] = await asyncio.to_thread(_order, api, oid)
                        view.add(payload)
                        if view.done:
                            return
        except InvalidStatus as e:
            status = e.response.status_code
            body = decode(bytes(e.response.body or b""))
            raise ClientError(error_message(status, body), exit_code(status), status) from None
        except InvalidURI:
            raise ClientError(f"not a WebSocket URL: {ws_url}", EXIT_USAGE) from None
        except (OSError, TimeoutError, ConnectionClosed, WebSocketException) as e:
            failures += 1
            if failures > RECONNECTS:
                raise ClientError(
                    f"cannot connect to {ws_url}: {e or type(e).__name__}", EXIT_UNREACHABLE
                ) from None
            await asyncio.sleep(min(0.25 * 2**failures, 4.0))
