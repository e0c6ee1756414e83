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


def checked_submit(cmd_submit: Any) -> Any:
    """`submit`'s handler: with --file, the batch path; without, the single order as before
    (its required flags checked here, since add_flags relaxed them)."""

    def handler(api: Any, args: argparse.Namespace, out: TextIO) -> int:
        from service.client.cli import EXIT_USAGE, ClientError

        if args.file is not None:
            if args.watch:
                raise ClientError("--watch does not go with --file", EXIT_USAGE)
            if args.idempotency_key:
                raise ClientError(
                    "--idempotency-key does not go with --file (give each line a clientOrderId)",
                    EXIT_USAGE,
                )
            return submit_file(api, args, out)
        absent = ["--" + d.replace("_", "-") for d in REQUIRED if getattr(args, d) is None]
        if absent:  # exits 2 with the usage, before any request
            args.submit_parser.error(f"the following arguments are required: {', '.join(absent)}")
        return int(cmd_submit(api, args, out))

    return handler


def read_orders(path: str, defaults: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(line number, order body) of every order line, the defaults under each line's fields."""
    from service.client.cli import EXIT_USAGE, ClientError

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as e:
        raise ClientError(f"cannot read {path}: {e.strerror}", EXIT_USAGE) from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            body = json.loads(line)
        except ValueError as e:
            raise ClientError(f"{path} line {n}: not JSON ({e})", EXIT_USAGE) from None
        if not isinstance(body, dict):
            raise ClientError(f"{path} line {n}: not a JSON object", EXIT_USAGE)
        out.append((n, {**defaults, **body}))
    if not out:
        raise ClientError(f"{path}: no orders", EXIT_USAGE)
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


def submit_file(api: Any, args: argparse.Namespace, out: TextIO) -> int:
    from service.client.cli import EXIT_API, EXIT_OK, order_body

    defaults = {k: v for k, v in order_body(args).items() if v is not None}
    orders = read_orders(args.file, defaults)
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
