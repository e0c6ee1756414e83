"""Quote-denominated market orders (`quoteAmount`): validation, and the sizing of the base
amount against brute force on small pools (every amount tried)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_core.amm import CpmmPool
from engine_core.book import Book
from engine_core.dlmm import DlmmPool
from engine_core.limits import venue_quotes
from engine_core.pools import make_pool
from service.api.render import order_json
from service.api.validation import parse_order
from service.config import DEFAULT_MARKETS_FILE
from service.domain.markets import load_markets
from service.domain.order import LiveOrder
from service.domain.quote_sizing import plan_quote, size_for_quote
from service.errors import ApiError
from service.worker.planner import plan_order

MARKETS = load_markets(DEFAULT_MARKETS_FILE)
SOL = MARKETS["SOL/USDC"]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
BODY: dict[str, Any] = {"clientId": "u1", "symbol": "SOL/USDC", "side": "buy"}


# -- validation --


def test_quote_amount_is_parsed_in_quote_units_and_amount_left_out() -> None:
    o = parse_order({**BODY, "quoteAmount": "100.5"}, MARKETS, now=NOW)
    assert (o.amount, o.quote_amount, o.type) == (None, 100_500_000, "market")
    same = parse_order({**BODY, "quoteAmount": 100.5, "type": "market"}, MARKETS, now=NOW)
    assert same.request_hash() == o.request_hash()
    amount = parse_order({**BODY, "amount": "100.5"}, MARKETS, now=NOW)
    assert amount.request_hash() != o.request_hash()


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"amount": "1", "quoteAmount": "100"}, "quoteAmount", "invalid_field"),
        ({"quoteAmount": "100", "type": "limit", "limitPrice": "150"}, "quoteAmount", None),
        ({"quoteAmount": "100", "type": "sniper"}, "quoteAmount", "invalid_field"),
        ({"quoteAmount": "0"}, "quoteAmount", "invalid_field"),
        ({"quoteAmount": "-5"}, "quoteAmount", "invalid_field"),
        ({"quoteAmount": "1.0000001"}, "quoteAmount", "invalid_field"),  # USDC has 6
        ({"quoteAmount": True}, "quoteAmount", "invalid_field"),
        ({}, "amount", "missing_field"),
        ({"amount": None, "quoteAmount": None}, "amount", "missing_field"),
    ],
)
def test_exactly_one_of_amount_and_quote_amount_else_400_naming_the_field(
    change: dict[str, Any], field: str, code: str | None
) -> None:
    with pytest.raises(ApiError) as info:
        parse_order({**BODY, **change}, MARKETS, now=NOW)
    e = info.value
    assert (e.status, e.field) == (400, field), e.message
    assert code is None or e.code == code
    assert "quoteAmount" in e.message


def test_order_json_of_a_quote_order_shows_the_target_and_the_amount_once_filled() -> None:
    row = {
        "id": "00000000-0000-0000-0000-000000000001", "client_id": "u1",
        "client_order_id": None, "symbol": "SOL/USDC", "side": "buy", "type": "market",
        "time_in_force": "GTC", "amount": None, "limit_price": None, "expires_at": None,
        "slippage_bps": 50, "status": "pending", "filled": 0, "quote_amount": 0, "fees": 0,
        "route": None, "tx_hash": None, "attempts": 0, "failure_reason": None,
        "created_at": NOW, "updated_at": NOW, "seq": 1, "quote_target": 100_000_000,
    }  # fmt: skip
    pending = order_json(row, SOL)
    assert (pending["amount"], pending["remaining"], pending["quoteTarget"]) == (None, None, "100")
    done = order_json(
        {**row, "status": "filled", "filled": 660_000_000, "quote_amount": 99_990_000}, SOL
    )
    assert (done["amount"], done["remaining"], done["quoteAmount"]) == ("0.66", "0", "99.99")
    assert order_json({**row, "amount": 5, "quote_target": None}, SOL)["quoteTarget"] is None


# -- sizing against brute force --


def brute(pools: dict[str, Any], side: str, target: int, decimals: int, cap: int) -> int:
    """Every amount 1..cap: the largest whose cost <= target (buy), smallest paying >= it."""
    best = 0
    for a in range(1, cap + 1):
        q = plan_quote(pools, side, a, [], decimals)
        if side == "buy":
            if q is not None and q <= target:
                best = a
        elif q is not None and q >= target:
            return a
    return best


def small_pools(x: int, y: int, fee: int, dlmm: bool) -> dict[str, Any]:
    pools: dict[str, Any] = {"raydium": CpmmPool(x, y, fee)}
    if dlmm:
        pools["meteora"] = DlmmPool(10, 0, 20, x // 40 + 1, y // 40 + 1, fee_bps=fee)
    return pools


@settings(max_examples=60, deadline=None)
@given(
    x=st.integers(200, 3000),
    y=st.integers(200, 3000),
    fee=st.sampled_from([0, 25, 100]),
    dlmm=st.booleans(),
    side=st.sampled_from(["buy", "sell"]),
    frac=st.floats(0.001, 0.6),
)
def test_sizing_matches_brute_force_on_small_pools(
    x: int, y: int, fee: int, dlmm: bool, side: str, frac: float
) -> None:
    pools = small_pools(x, y, fee, dlmm)
    target = max(1, int(y * frac))
    got = size_for_quote(pools, side, target, [], 0)
    cap = sum(p.base_reserve for p in pools.values()) * (1 if side == "buy" else 4)
    want = brute(pools, side, target, 0, cap)
    assert got == want, (got, want)
    if got:
        q = plan_quote(pools, side, got, [], 0)
        assert q is not None
        assert q <= target if side == "buy" else q >= target


def test_sizing_on_the_real_market_spends_at_most_and_nearly_all_of_the_target() -> None:
    pools = {v.venue: make_pool(v.kind, v.params) for v in SOL.venues}
    for side in ("buy", "sell"):
        target = 1_000 * 10**6  # 1,000 USDC
        a = size_for_quote(pools, side, target, [], 9)
        q, q_next = plan_quote(pools, side, a, [], 9), plan_quote(pools, side, a + 1, [], 9)
        q_prev = plan_quote(pools, side, a - 1, [], 9)
        assert q is not None and q_next is not None and q_prev is not None
        if side == "buy":
            assert q <= target < q_next  # the largest that fits
        else:
            assert q_prev < target <= q  # the smallest that pays it
        assert abs(q - target) <= 1_000  # one base unit is worth far less than 0.001 USDC


def test_a_quote_order_gets_its_amount_from_the_planner_with_a_maker_in_the_book() -> None:
    pools = {v.venue: make_pool(v.kind, v.params) for v in SOL.venues}
    ask, _ = venue_quotes(pools, 9)
    assert ask is not None
    book = Book()
    book.add(7, "sell", ask - ask // 200, 10**9, client=2)  # 1 SOL 0.5 % under the venues
    row = ("id-1", "taker", "SOL/USDC", "buy", "market", "GTC", None, None, 50, "pending",
           1, 0, 0, 0, 0, None, None, NOW, None, 500 * 10**6)  # fmt: skip
    o = LiveOrder.from_row(row, SOL)
    assert o.quote_target == 500 * 10**6 and o.payload()["remaining"] is None
    plan = plan_order(o, pools, book, venue_quotes(pools, 9), client=1)
    assert plan is not None and plan.internal  # the cheaper maker is used
    assert o.amount == plan.qty > 10**9  # more than the maker's 1 SOL: the venues for the rest
    spent = sum(q * p // 10**9 for _, p, q in plan.internal) + (
        plan.route.quote_amount if plan.route else 0
    )
    assert spent <= 500 * 10**6
    assert o.remaining == plan.qty  # what the attempt fills; shown once it has filled
