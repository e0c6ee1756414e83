"""The CLI client's `cancel`, `orders`, `quote` and `markets` against the fake API: flags ->
requests, answers -> output and exit codes."""

from __future__ import annotations

import json

from service.client import render
from tests.helpers.client import OID, order, run

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
