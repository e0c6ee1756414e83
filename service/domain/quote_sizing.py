"""Sizing a quote-denominated market order (`quoteAmount`): the base amount whose plan, over
the crossing makers and the venues (engine_core.planner), costs at most the target (buy) or
pays at least it (sell), by an exact integer search on the plan's quote total. Pure: the
worker sizes an order with it at each attempt, and GET /quote?quoteAmount= shows the same.
"""

from __future__ import annotations

from typing import Any

from engine_core.planner import plan_fill, take_makers
from engine_core.pools import InsufficientLiquidity
from service.domain.plan_json import quote_of

MAX_QTY = 2**63 - 1  # bigint: what an order's amount and the book's quantities fit in


def plan_quote(
    pools: dict[str, Any],
    side: str,
    amount: int,
    crossing: list[tuple[int, int, int]],
    base_decimals: int,
) -> int | None:
    """The quote total of the market plan for `amount` base units: what the makers it takes
    and the venue route cost (buy) or pay (sell); None when it cannot fill all of it."""
    try:
        book_qty, route = plan_fill(
            pools, side, amount, [(p, q) for _, p, q in crossing], None, base_decimals
        )
    except (InsufficientLiquidity, OverflowError, ValueError):
        return None
    if book_qty + (route.amount if route is not None else 0) < amount:
        return None
    internal = take_makers(crossing, book_qty)
    quote = sum(quote_of(q, p, base_decimals) for _, p, q in internal)
    return quote + (route.quote_amount if route is not None else 0)


def size_for_quote(
    pools: dict[str, Any],
    side: str,
    target: int,
    crossing: list[tuple[int, int, int]],
    base_decimals: int,
) -> int:
    """The base amount of a quote-denominated market order: for a buy the largest amount
    whose plan costs at most `target` quote units, for a sell the smallest whose plan pays
    at least `target`; 0 when there is none. The plan's quote total rises with the amount,
    so an exact integer search (doubling from 1, then bisection) finds it."""

    def quote(amount: int) -> int | None:
        return plan_quote(pools, side, amount, crossing, base_decimals)

    if side == "buy":
        # fits(a): the plan for a costs <= target (0 always fits); monotone: true then false
        def fits(amount: int) -> bool:
            q = quote(amount)
            return q is not None and q <= target

        lo, hi = 0, 1
        while hi <= MAX_QTY and fits(hi):
            lo, hi = hi, hi * 2
        hi = min(hi, MAX_QTY + 1)  # lo fits, hi does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid
        return lo

    # reaches(a): the plan for a pays >= target, or a is past what can be filled at all;
    # monotone: false then true. The smallest such a, unless it only is past capacity.
    def reaches(amount: int) -> bool:
        q = quote(amount)
        return q is None or q >= target

    lo, hi = 0, 1
    while hi <= MAX_QTY and not reaches(hi):
        lo, hi = hi, hi * 2
    if hi > MAX_QTY:
        return 0
    while hi - lo > 1:  # lo does not reach, hi does
        mid = (lo + hi) // 2
        if reaches(mid):
            hi = mid
        else:
            lo = mid
    return hi if quote(hi) is not None else 0
