"""A routing decision as the contract shows it (GET /quote, orders.route)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from engine_core.router import Route
from service.domain.markets import Market
from service.domain.units import from_base_units, price_string
from service.domain.wire import iso

QUOTE_TTL = timedelta(seconds=10)


def sol_steps(market: Market, side: str) -> list[str]:
    """Native SOL is wrapped to wSOL before a swap that spends it, unwrapped after one that
    pays it out."""
    spends_sol = (side == "sell" and market.native_sol_base) or (
        side == "buy" and market.native_sol_quote
    )
    receives_sol = (side == "buy" and market.native_sol_base) or (
        side == "sell" and market.native_sol_quote
    )
    steps = ["wrap_sol"] if spends_sol else []
    steps.append("swap")
    if receives_sol:
        steps.append("unwrap_sol")
    return steps


def worst_price(side: str, price_raw: int, slippage_bps: int) -> int:
    """The worst price a taker accepts at `slippage_bps` from `price_raw` (rounded down)."""
    sign = 1 if side == "buy" else -1
    return price_raw * (10_000 + sign * slippage_bps) // 10_000


def quote_of(qty: int, price_raw: int, base_decimals: int) -> int:
    """Quote units of `qty` base units at price_raw (quote units per whole base token)."""
    one: int = 10**base_decimals
    return qty * price_raw // one


def plan_json(
    market: Market,
    side: str,
    route: Route | None,
    internal: list[tuple[int, int]],
    *,
    bound: int | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """A plan in the /quote shape: the internal leg ((price_raw, qty) of each crossing
    resting order) first, then the venues' legs."""
    base_dec, quote_dec = market.base.decimals, market.quote.decimals
    route = route or Route(side, 0, [])
    out = route_json(route, market, bound=bound)
    if internal:
        qty = sum(q for _, q in internal)
        quote = sum(quote_of(q, p, base_dec) for p, q in internal)
        base_s = from_base_units(qty, base_dec)
        quote_s = from_base_units(quote, quote_dec)
        out["legs"].insert(
            0,
            {
                "venue": "internal",
                "amountIn": base_s if side == "sell" else quote_s,
                "amountOut": quote_s if side == "sell" else base_s,
                "fee": "0",
                "priceImpactBps": 0,
            },
        )
        total_qty, total_quote = qty + route.amount, quote + route.quote_amount
        out["amount"] = from_base_units(total_qty, base_dec)
        out["quoteAmount"] = from_base_units(total_quote, quote_dec)
        out["expectedPrice"] = price_string(total_quote, total_qty, base_dec, quote_dec)
    if limit is not None:
        out["limitPrice"] = from_base_units(limit, quote_dec)
    return out


def route_json(
    route: Route, market: Market, *, bound: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    base, quote = market.base.decimals, market.quote.decimals
    now = now or datetime.now(UTC)
    legs = []
    for leg in route.legs:
        base_s = from_base_units(leg.amount, base)
        quote_s = from_base_units(leg.quote, quote)
        amount_in, amount_out = (base_s, quote_s) if route.side == "sell" else (quote_s, base_s)
        legs.append(
            {
                "venue": leg.venue,
                "amountIn": amount_in,
                "amountOut": amount_out,
                "fee": from_base_units(leg.fee, quote),
                "priceImpactBps": leg.price_impact_bps,
            }
        )
    out: dict[str, Any] = {
        "symbol": market.symbol,
        "side": route.side,
        "amount": from_base_units(route.amount, base),
        "expectedPrice": price_string(route.quote_amount, route.amount, base, quote),
        "quoteAmount": from_base_units(route.quote_amount, quote),
        "priceImpactBps": route.price_impact_bps,
        "fees": from_base_units(route.fees, quote),
        "legs": legs,
        "steps": sol_steps(market, route.side),
        "expiresAt": iso(now + QUOTE_TTL),
    }
    if bound is not None:
        out["minOut" if route.side == "sell" else "maxIn"] = from_base_units(bound, quote)
    return out
