"""POST /sim/launch and /sim/price: the simulator's market commands, sent to the market's
owning worker through its stream (like a cancel), answered with the market as /markets shows it.

They are an operator's (api/auth.py: OPERATOR_API_KEYS) and every value is bounded here, before
anything reaches a worker: a price (or a launch's reserve ratio) within SIM_MAX_PRICE_RATIO of
the market's reference price either way, reserves of 1 .. 2**62 base units (within what the
pools' 64-bit integer math holds, domain/units.py). Anything else is a 400 naming the field."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import falcon

from service.api.market_commands import MarketCommands, raise_for_reply
from service.api.media import read_json
from service.api.render import market_json
from service.domain.markets import Market
from service.domain.units import UnitsError, from_base_units, to_base_units
from service.errors import ApiError, bad_request

VENUES = ("raydium", "meteora")
_MAX_NUMBER_CHARS = 64


def _decimal(value: Any, field: str) -> Decimal:
    """A finite decimal > 0 given as a JSON number or string of at most 64 characters."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise bad_request(field, f"{field} must be a decimal number > 0")
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        if len(text) > _MAX_NUMBER_CHARS:
            raise InvalidOperation
        d = Decimal(text.strip())
    except InvalidOperation:
        raise bad_request(field, f"{field} must be a decimal number > 0") from None
    if not d.is_finite() or d <= 0 or not -60 <= d.adjusted() <= 60:
        raise bad_request(field, f"{field} must be a decimal number > 0")
    return d


def _reserve(value: Any, decimals: int, field: str) -> int:
    d = _decimal(value, field)
    try:
        return to_base_units(str(d), decimals, field)  # 1 .. 2**62
    except UnitsError as e:
        raise bad_request(e.field, str(e)) from None


def _fields(body: Any, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    for key in body:
        if key not in allowed:
            raise bad_request(key, f"unknown field {key}", "unknown_field")
    for key in required:
        if body.get(key) is None:
            raise bad_request(key, f"{key} is required", "missing_field")
    return body


class SimResource:
    """POST /sim/launch and POST /sim/price (SIM_ENABLED)."""

    def __init__(
        self,
        markets: dict[str, Market],
        queue: MarketCommands,
        markets_view: Any,
        max_body: int,
        max_ratio: int = 100,
    ) -> None:
        self.max_ratio = Decimal(max_ratio)
        self.markets = markets
        self.queue = queue
        self.view = markets_view
        self.max_body = max_body

    def _market(self, body: dict[str, Any]) -> Market:
        symbol = body["symbol"]
        if not isinstance(symbol, str) or symbol not in self.markets:
            raise bad_request("symbol", f"unknown symbol {symbol!r}")
        return self.markets[symbol]

    def _bounded(self, market: Market, price: Decimal, field: str) -> None:
        """400 unless `price` is within max_ratio of the market's reference either way."""
        ref = self.view.reference(market.symbol)
        lo, hi = ref / self.max_ratio, ref * self.max_ratio
        if not lo <= price <= hi:
            raise bad_request(
                field,
                f"{field} must put the price within {self.max_ratio}x of the reference "
                f"price {ref.normalize():f} ({lo.normalize():f} .. {hi.normalize():f})",
            )

    def on_post_launch(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _fields(
            read_json(req, self.max_body),
            ("symbol", "venue", "baseReserve", "quoteReserve", "feeBps"),
            ("symbol", "venue", "baseReserve", "quoteReserve"),
        )
        market = self._market(body)
        if body["venue"] not in VENUES:
            raise bad_request("venue", "venue must be raydium or meteora")
        base = _reserve(body["baseReserve"], market.base.decimals, "baseReserve")
        quote = _reserve(body["quoteReserve"], market.quote.decimals, "quoteReserve")
        implied = (Decimal(quote) / Decimal(base)).scaleb(
            market.base.decimals - market.quote.decimals
        )
        self._bounded(market, implied, "quoteReserve")
        fee = body.get("feeBps", 25)
        if isinstance(fee, bool) or not isinstance(fee, int) or not 0 <= fee <= 1000:
            raise bad_request("feeBps", "feeBps must be an integer 0..1000")
        args = {
            "symbol": market.symbol,
            "venue": body["venue"],
            "baseReserve": from_base_units(base, market.base.decimals),
            "quoteReserve": from_base_units(quote, market.quote.decimals),
            "feeBps": fee,
        }
        raise_for_reply(self.queue.command(market.symbol, "sim_launch", args, timeout=30))
        self._render(resp, market)

    def on_post_price(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _fields(read_json(req, self.max_body), ("symbol", "price"), ("symbol", "price"))
        market = self._market(body)
        value = _decimal(body["price"], "price")
        self._bounded(market, value, "price")
        raise_for_reply(
            self.queue.command(
                market.symbol,
                "sim_price",
                {"symbol": market.symbol, "price": str(value)},
                timeout=30,
            )
        )
        self._render(resp, market)

    def _render(self, resp: falcon.Response, market: Market) -> None:
        resp.media = market_json(
            market, self.view.pools().get(market.symbol, {}), self.view.reference(market.symbol)
        )
