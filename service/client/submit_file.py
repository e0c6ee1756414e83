"""`order-engine submit --file orders.jsonl`: many orders through POST /orders/batch.

One order body per line (JSON, as for POST /orders; blank lines and lines starting with `#`
skipped; `-` reads stdin). The `submit` flags given with --file (--client-id, --symbol,
--side, --amount, --type, …) fill the fields a line leaves out. The file is read and parsed
whole first: a line that is not a JSON object stops the command (exit 2) before anything is
sent. Then the orders go in batches of 100, one request each; every order gets one output
line, in file order: `line 3: 201 <id> pending` or `line 4: 400 invalid_field amount: …`.
Exit 0 when every order was placed (201) or already there (200), 1 when any was refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

BATCH = 100  # the API's MAX_BATCH_ORDERS
EXIT_OK, EXIT_API, EXIT_USAGE = 0, 1, 2  # as client/cli.py's (this module does not import it)
REQUIRED = ("client_id", "symbol", "side", "amount")  # the flags `submit` needs without --file


def add_flags(p: argparse.ArgumentParser) -> None:
    """--file on `submit`; the body flags become optional (defaults for the file's lines),
    and `checked_submit` asks for them when --file is absent."""
    p.add_argument(
        "--file",
        metavar="JSONL",
        help="submit one order per line of this file (- for stdin) via POST /orders/batch, "
        "100 per request; the other flags fill fields a line leaves out",
    )
    for action in p._actions:  # noqa: SLF001 - argparse has no public way to relax them
        if action.dest in REQUIRED:
            action.required = False
    p.set_defaults(submit_parser=p)  # for its usage error, as argparse gives it


class FileError(Exception):
    """The file cannot be submitted (unreadable, not JSON lines): exit 2, nothing sent."""


def checked_submit(cmd_submit: Any, order_body: Any) -> Any:
    """`submit`'s handler: with --file, the batch path; without, the single order as before
    (its required flags checked here, since add_flags relaxed them). `order_body` is
    client/cli.py's (the body from the flags): the defaults of the file's lines."""

    def handler(api: Any, args: argparse.Namespace, out: TextIO) -> int:
        if args.file is not None:
            problem = None
            if args.watch:
                problem = "--watch does not go with --file"
            elif args.idempotency_key:
                problem = "--idempotency-key does not go with --file (give lines a clientOrderId)"
            try:
                if problem:
                    raise FileError(problem)
                defaults = {k: v for k, v in order_body(args).items() if v is not None}
                return submit_file(api, args, read_orders(args.file, defaults), out)
            except FileError as e:
                sys.stderr.write(f"order-engine submit: {e}\n")
                return EXIT_USAGE
        wanted = [d for d in REQUIRED if not (d == "amount" and args.quote_amount is not None)]
        absent = ["--" + d.replace("_", "-") for d in wanted if getattr(args, d) is None]
        if absent:  # exits 2 with the usage, before any request
            args.submit_parser.error(f"the following arguments are required: {', '.join(absent)}")
        return int(cmd_submit(api, args, out))

    return handler


def read_orders(path: str, defaults: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(line number, order body) of every order line, the defaults under each line's fields."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as e:
        raise FileError(f"cannot read {path}: {e.strerror}") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            body = json.loads(line)
        except ValueError as e:
            raise FileError(f"{path} line {n}: not JSON ({e})") from None
        if not isinstance(body, dict):
            raise FileError(f"{path} line {n}: not a JSON object")
        out.append((n, {**defaults, **body}))
    if not out:
        raise FileError(f"{path}: no orders")
    return out


def result_line(n: int, result: dict[str, Any]) -> str:
    status = result["status"]
    if "order" in result:
        o = result["order"]
        note = "" if status == 201 else " (already placed: same clientOrderId)"
        return f"line {n}: {status} {o['id']} {o['status']}{note}"
    err = result.get("error", {})
    field = str(err.get("field", ""))
    field = field.split("].", 1)[1] if "]." in field else ""  # orders[3].amount -> amount
    where = f" {field}" if field else ""
    return f"line {n}: {status} {err.get('code')}{where}: {err.get('message')}"


def submit_file(
    api: Any, args: argparse.Namespace, orders: list[tuple[int, dict[str, Any]]], out: TextIO
) -> int:
    path = "/api/orders/batch" if args.execute_path else "/orders/batch"
    results: list[tuple[int, dict[str, Any]]] = []
    for lo in range(0, len(orders), BATCH):
        chunk = orders[lo : lo + BATCH]
        _, answer = api.request("POST", path, body={"orders": [body for _, body in chunk]})
        for (n, _), result in zip(chunk, answer["results"], strict=True):
            results.append((n, result))
            if not args.json:
                out.write(result_line(n, result) + "\n")
        out.flush()
    if args.json:
        out.write(json.dumps([{"line": n, **r} for n, r in results], indent=2) + "\n")
    refused = sum(1 for _, r in results if r["status"] not in (200, 201))
    if not args.json:
        out.write(f"{len(results) - refused} placed, {refused} refused\n")
    return EXIT_API if refused else EXIT_OK
