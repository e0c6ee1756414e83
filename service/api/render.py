"""Stored rows -> the contract's JSON objects (decimal strings for every amount)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from service.domain.markets import Market
from service.domain.units import from_base_units, price_string
from service.domain.wire import iso


def fill_json(row: dict[str, Any], market: Market) -> dict[str, Any]:
    base, quote = market.base.decimals, market.quote.decimals
    return {
        "venue": row["venue"],
        "amount": from_base_units(row["amount"], base),
        "price": price_string(row["quote_amount"], row["amount"], base, quote),
        "quoteAmount": from_base_units(row["quote_amount"], quote),
        "fee": from_base_units(row["fee"], quote),
        "txHash": row["tx_hash"],
        "ts": iso(row["ts"]),
    }


def order_json(
    row: dict[str, Any], market: Market, fills: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    base, quote = market.base.decimals, market.quote.decimals
    target = row.get("quote_target")
    amount = row["amount"]
    if target is not None:
        # a quote-denominated order: its base amount is what it filled (sized by the
        # worker at its attempt), unknown (null) before it fills
        amount = row["filled"] or None
    return {
        "id": str(row["id"]),
        "clientId": row["client_id"],
        "clientOrderId": row["client_order_id"],
        "symbol": row["symbol"],
        "side": row["side"],
        "type": row["type"],
        "timeInForce": None if row["type"] == "market" else row["time_in_force"],
        "amount": from_base_units(amount, base),
        "quoteTarget": from_base_units(target, quote),
        "limitPrice": from_base_units(row["limit_price"], quote),
        "expiresAt": iso(row["expires_at"]) if row["expires_at"] else None,
        "slippageBps": row["slippage_bps"],
        "status": row["status"],
        "filled": from_base_units(row["filled"], base),
        "remaining": None if amount is None else from_base_units(amount - row["filled"], base),
        "avgPrice": price_string(row["quote_amount"], row["filled"], base, quote),
        "quoteAmount": from_base_units(row["quote_amount"], quote),
        "fees": from_base_units(row["fees"], quote),
        "route": row["route"],
        "fills": [fill_json(f, market) for f in fills or []],
        "txHash": row["tx_hash"],
        "attempts": row["attempts"],
        "failureReason": row["failure_reason"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "seq": row["seq"],
    }


def event_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "eventId": row["event_id"],
        "status": row["status"],
        "ts": iso(row["ts"]),
        **row["payload"],
    }


def spot_price(pool: Any, market: Market) -> str:
    x64 = Decimal(pool.spot_price_x64()) / Decimal(2**64)
    price = x64.scaleb(market.base.decimals - market.quote.decimals)
    return format(price.quantize(Decimal(1).scaleb(-(market.quote.decimals + 4))).normalize(), "f")


def market_json(market: Market, pools: dict[str, Any], reference: Decimal) -> dict[str, Any]:
    venues = []
    for name, pool in sorted(pools.items()):
        v: dict[str, Any] = {"venue": name, "kind": pool.kind, "price": spot_price(pool, market)}
        if hasattr(pool, "base_reserve"):
            v["baseReserve"] = from_base_units(pool.base_reserve, market.base.decimals)
            v["quoteReserve"] = from_base_units(pool.quote_reserve, market.quote.decimals)
        if hasattr(pool, "fee_bps"):
            v["feeBps"] = pool.fee_bps
        venues.append(v)
    return {
        "symbol": market.symbol,
        "base": {"symbol": market.base.symbol, "decimals": market.base.decimals},
        "quote": {"symbol": market.quote.symbol, "decimals": market.quote.decimals},
        "launched": bool(pools),
        "referencePrice": format(
            reference.quantize(Decimal(1).scaleb(-(market.quote.decimals + 4))).normalize(), "f"
        ),
        "venues": venues,
    }
