"""What an order can execute now, and whether a plan still holds when it lands: pure
functions of the order and the market's pools, book and quotes, with no I/O and no writes.

A plan combines crossing makers of other clients (venue `internal`, at the maker's price, no
fee) and the venues, each used where it pays the taker best at that size, within the order's
limit price (limit orders, capped snipers) or its slippage bound around the venues' price
(market orders, uncapped snipers).

A quote-denominated market order (`quoteAmount`) gets its base amount here, at each attempt:
the largest amount whose plan costs at most the target (buy), the smallest whose plan pays
at least the target (sell), found by an exact integer search on the plan's quote total
(`size_for_quote`); the order's `amount` becomes what it filled plus that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine_core.fills import slippage_bound, within_slippage
from engine_core.limits import within_limit
from engine_core.planner import plan_fill, take_makers
from engine_core.pools import InsufficientLiquidity
from engine_core.router import Route, execute_route
from service.domain.order import LiveOrder
from service.domain.plan_json import plan_json, worst_price
from service.domain.quote_sizing import MAX_QTY, size_for_quote


class AttemptFailed(Exception):
    def __init__(self, reason: str, tx_hash: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tx_hash = tx_hash


class NothingExecutable(Exception):
    """A limit order found nothing within its price when its attempt routed."""


@dataclass
class Plan:
    limit: int | None  # price_raw the whole plan respects (None: a market order)
    internal: list[tuple[int, int, int]]  # (maker handle, maker price_raw, qty)
    route: Route | None  # the venues' part
    bound: int | None = None  # market orders: min quote out / max quote in of the route
    json: dict[str, Any] = field(default_factory=dict)

    @property
    def internal_qty(self) -> int:
        return sum(q for _, _, q in self.internal)

    @property
    def qty(self) -> int:
        return self.internal_qty + (self.route.amount if self.route else 0)


def plan_order(
    order: LiveOrder,
    pools: dict[str, Any],
    book: Any,
    quotes: tuple[int | None, int | None],
    client: int,
    limit: int | None = None,
) -> Plan | None:
    """The order's plan against `pools` and `book` as they are, or None when nothing of it
    can execute. `quotes` is the venues' (ask, bid); `client` the book's handle of the
    order's client (its own resting orders are never matched)."""
    if limit is None:
        limit = order.limit_price
    internal_limit = limit
    if limit is None and len(book):
        # No price given: internal makers only where they beat the slippage bound around
        # the venues' price.
        ask, bid = quotes
        px = ask if order.side == "buy" else bid
        internal_limit = None if px is None else worst_price(order.side, px, order.slippage_bps)
    crossing: list[tuple[int, int, int]] = []
    if order.quote_target is not None:
        # a quote-denominated market order: its base amount is sized against the makers
        # and the venues as they are now
        if internal_limit is not None and len(book):
            crossing = book.crossing(order.side, internal_limit, MAX_QTY, client)
        sized = size_for_quote(
            pools, order.side, order.quote_target, crossing, order.market.base.decimals
        )
        if sized == 0:
            return None
        order.amount = order.filled + sized
        crossing = take_makers(crossing, sized)
    elif internal_limit is not None and len(book):
        crossing = book.crossing(order.side, internal_limit, order.remaining, client)
    # One plan over the book and the venues: a maker is taken only where it pays at least
    # as well as the venues at that size (engine_core.planner).
    book_qty, route = plan_fill(
        pools,
        order.side,
        order.remaining,
        [(p, q) for _, p, q in crossing],
        limit,
        order.market.base.decimals,
    )
    internal = take_makers(crossing, book_qty)
    if not internal and route is None:
        return None
    plan = Plan(limit, internal, route)
    if route is not None and limit is None:
        plan.bound = slippage_bound(order.side, route.quote_amount, order.slippage_bps)
    return with_json(order, plan)


def with_json(order: LiveOrder, plan: Plan) -> Plan:
    """The plan, its routing decision as the contract shows it (`json`) filled in."""
    plan.json = plan_json(
        order.market,
        order.side,
        plan.route,
        [(p, q) for _, p, q in plan.internal],
        bound=plan.bound,
        limit=plan.limit,
    )
    return plan


def executable(order: LiveOrder, plan: Plan | None) -> Plan:
    """The attempt's plan, or the reason it has none: a market order with nothing to
    execute fails (`insufficient_liquidity`), a limit order has nothing within its price
    (NothingExecutable), a market order's swap that moves nothing of one token (an amount
    below what the pool can price) would be refused by the chain whatever the attempt
    (`invalid_order`)."""
    if plan is None:
        if order.type == "market":
            raise AttemptFailed("insufficient_liquidity")
        raise NothingExecutable()
    if (
        order.type == "market"
        and plan.route is not None
        and any(leg.amount <= 0 or leg.quote <= 0 for leg in plan.route.legs)
    ):
        raise AttemptFailed("invalid_order")
    return plan


def internal_price(order: LiveOrder, plan: Plan) -> int:
    """The price the plan's internal part is matched at: its limit, or the worst of the
    makers it was planned with."""
    if plan.limit is not None:
        return plan.limit
    prices = [p for _, p, _ in plan.internal]
    return max(prices) if order.side == "buy" else min(prices)


def swap_on_copies(
    order: LiveOrder, plan: Plan, pools: dict[str, Any], tx: str
) -> tuple[dict[str, Any], Route]:
    """Run the plan's route on copies of `pools` as they are now; returns the copies and
    the route as executed, or raises AttemptFailed when it no longer fits the order's
    slippage bound or limit."""
    assert plan.route is not None
    trial = {venue: pool.copy() for venue, pool in pools.items()}
    try:
        actual = execute_route(trial, plan.route)
    except InsufficientLiquidity:
        raise AttemptFailed("insufficient_liquidity", tx) from None
    ok = (
        within_slippage(order.side, actual.quote_amount, plan.bound)
        if plan.bound is not None
        else within_limit(actual, plan.limit, order.market.base.decimals)
    )
    if not ok:
        raise AttemptFailed("slippage_exceeded", tx)
    return trial, actual
