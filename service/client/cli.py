"""`order-engine submit|watch|cancel|orders|quote|markets`: a client of a running engine.

It talks to the API over HTTP (http.py, stdlib `urllib`) and to the relay over WebSocket
(watch.py, `websockets`), prints with render.py, and needs nothing else of the service: no
database, no settings.

- `--url` / `ENGINE_URL` (default http://127.0.0.1:3000): the API.
- `--ws-url` / `ENGINE_WS_URL`: the relay. When neither is given, the API's `/config.json`
  says where it is (same origin behind the docker compose front, port WS_PORT otherwise);
  if that fails, ws://127.0.0.1:3001.
- `API_KEY`: sent as `X-API-Key` over HTTP and as the `apiKey` query parameter over WebSocket.
- Output: readable tables (prices rounded per market), or the API's JSON with `--json`.
- Exit codes: 0 ok, 1 the API refused (4xx), 2 bad usage, 3 cannot connect or server error (5xx).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any, TextIO

from service.client import submit_file
from service.client.http import (
    DEFAULT_URL,
    EXIT_API,
    EXIT_OK,
    EXIT_USAGE,
    Api,
    ClientError,
    error_message,
)
from service.client.render import Digits, emit, markets_text, order_text, orders_text, quote_text
from service.client.watch import DEFAULT_WS_URL, FINAL, Target, watch

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
COMMANDS = ("submit", "watch", "cancel", "orders", "quote", "markets")


def _digits(api: Api, args: argparse.Namespace) -> Digits:
    return {} if args.json else api.quote_decimals()


def _last_error(api: Api, order: dict[str, Any]) -> Any:
    """The error of the order's latest retried attempt (its `routing` events carry it)."""
    if not order.get("attempts") or int(order["attempts"]) < 2:
        return None
    try:
        _, body = api.request("GET", f"/orders/{order['id']}/events")
    except ClientError:
        return None
    errors = [e.get("lastError") for e in body.get("events", []) if e.get("lastError")]
    return errors[-1] if errors else None


def order_body(args: argparse.Namespace) -> dict[str, Any]:
    """The POST /orders body from `submit`'s flags, which mirror it one to one."""
    body: dict[str, Any] = {
        "clientId": args.client_id,
        "symbol": args.symbol,
        "side": args.side,
        "amount": args.amount,
    }
    if getattr(args, "quote_amount", None) is not None:  # instead of --amount
        body["quoteAmount"] = args.quote_amount
        if args.amount is None:
            del body["amount"]
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
        out.write(f"{note}: {order['id']}\n{order_text(order, _digits(api, args))}\n")
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
        out.write(f"canceled: {order_id}\n{order_text(body, _digits(api, args))}\n")
    return EXIT_OK


def cmd_orders(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    if args.id:
        _, order = api.request("GET", f"/orders/{args.id}")
        digits = _digits(api, args)
        last = None if args.json else _last_error(api, order)
        emit(out, args, order, lambda o: order_text(o, digits, last))
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
    digits = _digits(api, args)
    emit(out, args, result, lambda r: orders_text(r["orders"], digits))
    if result["nextCursor"] and not args.json:
        sys.stderr.write(f"more: --cursor {result['nextCursor']}\n")
    return EXIT_OK


def cmd_quote(api: Api, args: argparse.Namespace, out: TextIO) -> int:
    query = {"symbol": args.symbol, "side": args.side}
    if args.amount is not None:
        query["amount"] = args.amount
    if args.quote_amount is not None:
        query["quoteAmount"] = args.quote_amount
    _, q = api.request("GET", "/quote", query=query)
    digits = _digits(api, args)
    emit(out, args, q, lambda d: quote_text(d, digits))
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


# --------------------------------------------------------------------------- parser


HANDLERS: dict[str, Callable[[Api, argparse.Namespace, TextIO], int]] = {
    "submit": submit_file.checked_submit(cmd_submit, order_body),  # --file: POST /orders/batch
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
    p.add_argument(
        "--quote-amount",
        help="instead of --amount, market orders: spend (buy) or receive (sell) this much of "
        "the QUOTE token, e.g. 100",
    )
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
    submit_file.add_flags(p)  # --file orders.jsonl (service/client/submit_file.py)

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
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--amount", help="quantity of the BASE token")
    size.add_argument(
        "--quote-amount", help="instead: QUOTE token to spend (buy) or receive (sell)"
    )

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
