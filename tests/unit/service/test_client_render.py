"""What the CLI client prints: the live table on a terminal, prices to the quote token's
digits, the columns of a client's watch."""

from __future__ import annotations

import io
import json

from service.client import render, watch
from tests.helpers.client import OID, SIX, event, order


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
