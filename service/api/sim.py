"""POST /sim/launch and /sim/price: the simulator's market commands, sent to the market's
owning worker through its stream (like a cancel), answered with the market as /markets shows it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import falcon

from service.api.market_commands import MarketCommands, raise_for_reply
from service.api.media import read_json
from service.api.render import market_json
from service.domain.markets import Market
from service.domain.units import UnitsError, to_base_units
from service.errors import ApiError, bad_request

VENUES = ("raydium", "meteora")


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
        self, markets: dict[str, Market], queue: MarketCommands, markets_view: Any, max_body: int
    ) -> None:
        self.markets = markets
        self.queue = queue
        self.view = markets_view
        self.max_body = max_body

    def _market(self, body: dict[str, Any]) -> Market:
        symbol = body["symbol"]
        if not isinstance(symbol, str) or symbol not in self.markets:
            raise bad_request("symbol", f"unknown symbol {symbol!r}")
        return self.markets[symbol]

    def on_post_launch(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _fields(
            read_json(req, self.max_body),
            ("symbol", "venue", "baseReserve", "quoteReserve", "feeBps"),
            ("symbol", "venue", "baseReserve", "quoteReserve"),
        )
        market = self._market(body)
        if body["venue"] not in VENUES:
            raise bad_request("venue", "venue must be raydium or meteora")
        try:
            to_base_units(body["baseReserve"], market.base.decimals, "baseReserve")
            to_base_units(body["quoteReserve"], market.quote.decimals, "quoteReserve")
        except UnitsError as e:
            raise bad_request(e.field, str(e)) from None
        fee = body.get("feeBps", 25)
        if isinstance(fee, bool) or not isinstance(fee, int) or not 0 <= fee <= 1000:
            raise bad_request("feeBps", "feeBps must be an integer 0..1000")
        args = {k: str(v) if k != "feeBps" else v for k, v in body.items()}
        raise_for_reply(self.queue.command(market.symbol, "sim_launch", args, timeout=30))
        self._render(resp, market)

    def on_post_price(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = _fields(read_json(req, self.max_body), ("symbol", "price"), ("symbol", "price"))
        market = self._market(body)
        price = body["price"]
        try:
            if isinstance(price, bool) or not isinstance(price, (str, int, float)):
                raise InvalidOperation
            value = Decimal(str(price))
            if not value.is_finite() or value <= 0:
                raise InvalidOperation
        except InvalidOperation:
            raise bad_request("price", "price must be a decimal number > 0") from None
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
