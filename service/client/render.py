"""What the client prints: tables and `name value` blocks of orders, quotes and markets.

Prices are rounded per market to as many significant digits as its quote token has decimals
(SOL/USDC: 6, so 150.441; BONK/SOL: 9, so 0.000000205840123), the same rule as the blotter
(service/api/static/app.js `roundPrice`); `--json` prints the API's exact strings.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, TextIO

Digits = Mapping[str, int]  # symbol -> significant digits of its prices


def round_price(value: Any, sig: int | None) -> str:
    """`value` (a decimal string) to `sig` significant digits; never drops integer digits."""
    if value in (None, ""):
        return ""
    if not sig:
        return str(value)
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not d.is_finite() or d == 0:
        return str(value)
    step = Decimal(1).scaleb(min(d.adjusted() - sig + 1, 0))
    return f"{d.quantize(step, rounding=ROUND_HALF_EVEN):f}"


def price(digits: Digits, symbol: Any, value: Any) -> str:
    return round_price(value, digits.get(str(symbol)))


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


def order_text(o: dict[str, Any], digits: Digits | None = None, last_error: Any = None) -> str:
    digits = digits or {}
    sym = o.get("symbol")
    limit = price(digits, sym, o.get("limitPrice"))
    out = fields(
        [
            ("id", o.get("id")),
            ("status", o.get("status")),
            ("client", o.get("clientId")),
            ("clientOrderId", o.get("clientOrderId")),
            (
                "order",
                f"{o.get('type')} {o.get('side')} {o.get('amount')} {sym}"
                + (f" @ {limit}" if limit else ""),
            ),
            ("timeInForce", o.get("timeInForce") if o.get("type") != "market" else None),
            ("expiresAt", o.get("expiresAt")),
            ("slippageBps", o.get("slippageBps")),
            ("filled", f"{o.get('filled')} (remaining {o.get('remaining')})"),
            ("avgPrice", price(digits, sym, o.get("avgPrice"))),
            ("quoteAmount", o.get("quoteAmount") if o.get("avgPrice") else None),
            ("fees", o.get("fees") if o.get("avgPrice") else None),
            ("txHash", o.get("txHash")),
            ("attempts", o.get("attempts")),
            ("lastError", last_error if o.get("status") != "filled" else None),
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
                    price(digits, sym, f["price"]),
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
    "limit",
    "filled",
    "avgPrice",
    "status",
    "error",
]


def orders_text(orders: list[dict[str, Any]], digits: Digits | None = None) -> str:
    if not orders:
        return "no orders"
    digits = digits or {}
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
                price(digits, o["symbol"], o.get("limitPrice")),
                o["filled"],
                price(digits, o["symbol"], o.get("avgPrice")),
                o["status"],
                o.get("failureReason") or "",
            ]
            for o in orders
        ],
    )


def quote_text(q: dict[str, Any], digits: Digits | None = None) -> str:
    digits = digits or {}
    head = fields(
        [
            ("quote", f"{q['side']} {q['amount']} {q['symbol']}"),
            ("expectedPrice", price(digits, q["symbol"], q.get("expectedPrice"))),
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
        sig = (m.get("quote") or {}).get("decimals")
        for v in m.get("venues") or [{}]:
            rows.append(
                [
                    m["symbol"],
                    round_price(m.get("referencePrice"), sig),
                    "yes" if m.get("launched") else "no",
                    v.get("venue", "-"),
                    v.get("kind", ""),
                    round_price(v.get("price", ""), sig),
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
