"""The HTTP resources: orders, events, quote, markets, health, metrics."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import falcon
import orjson

from engine_core.limits import venue_quotes
from engine_core.pools import InsufficientLiquidity, pool_from_state
from engine_core.router import best_route
from service import __version__
from service.api.auth import admit_client, scope_client
from service.api.commands import CancelMixin
from service.api.group_commit import GroupCommit
from service.api.market_commands import OrderQueue
from service.api.render import event_json, order_json
from service.api.validation import (
    NewOrder,
    encode_cursor,
    parse_list_query,
    parse_order,
    parse_quote_query,
)
from service.config import Settings
from service.domain.markets import Market
from service.domain.plan_json import plan_json, worst_price
from service.domain.units import from_base_units
from service.errors import ApiError, unavailable
from service.metrics import db_pool_connections
from service.metrics.exposition import render
from service.store.orders import OrderStore, Unavailable

NOT_FOUND = ApiError(404, "not_found", "no such order", "id")


def _pg(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Unavailable:
        raise unavailable("postgres") from None


class OrdersResource(CancelMixin):
    def __init__(
        self, settings: Settings, markets: dict[str, Market], store: OrderStore, queue: OrderQueue
    ) -> None:
        self.settings = settings
        self.markets = markets
        self.store = store
        self.queue = queue
        # concurrent POSTs of this process share one transaction and one Redis pipeline
        self.commits = GroupCommit(settings, store, queue.redis)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, self.settings.max_body_bytes)
        order = parse_order(
            body,
            self.markets,
            now=datetime.now(UTC),
            idempotency_key=req.get_header("Idempotency-Key"),
        )
        admit_client(req, order.client_id)  # 403 for another key's client; rate limit when open
        created = _pg(self._insert, order)
        if created is None:
            row = self._existing(order)
            resp.status = falcon.HTTP_200
            fills = _pg(self.store.fills, [row["id"]])[str(row["id"])]
            resp.media = order_json(row, self.markets[row["symbol"]], fills)
            return
        row, _event_id = created  # queued and published by the group commit already
        out = order_json(row, self.markets[order.symbol])
        resp.status = falcon.HTTP_201
        resp.location = f"/orders/{out['id']}"
        resp.media = out

    def _insert(self, order: NewOrder) -> tuple[dict[str, Any], int] | None:
        market = self.markets[order.symbol]
        return self.commits.insert(
            {
                "id": uuid.uuid4(),
                "client_id": order.client_id,
                "client_order_id": order.client_order_id,
                "idem_key": order.idem_key,
                "request_hash": order.request_hash(),
                "symbol": order.symbol,
                "side": order.side,
                "type": order.type,
                "time_in_force": order.time_in_force,
                "amount": order.amount,
                "limit_price": order.limit_price,
                "expires_at": order.expires_at,
                "slippage_bps": order.slippage_bps,
                "payload": {
                    "filled": "0",
                    "remaining": from_base_units(order.amount, market.base.decimals),
                    "avgPrice": None,
                    "txHash": None,
                    "failureReason": None,
                    "attempts": 0,
                },
            }
        )

    def _existing(self, order: NewOrder) -> dict[str, Any]:
        assert order.idem_key is not None
        row = _pg(self.store.by_idem_key, order.client_id, order.idem_key)
        if row is None:  # pragma: no cover - the conflicting row is committed by then
            raise unavailable("postgres")
        if row["request_hash"] != order.request_hash():
            field = "clientOrderId" if order.client_order_id else "Idempotency-Key"
            raise ApiError(
                409,
                "idempotency_conflict",
                "this idempotency key was used with a different order",
                field,
            )
        return row

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        q = parse_list_query(query_params(req))
        client_id = scope_client(req, q.client_id)  # with API keys: the key's client only
        rows = _pg(self.store.list_orders, client_id, q.status, q.limit + 1, q.cursor)
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        fills = _pg(self.store.fills, [r["id"] for r in rows])
        resp.media = {
            "orders": [order_json(r, self.markets[r["symbol"]], fills[str(r["id"])]) for r in rows],
            "nextCursor": encode_cursor(rows[-1]["created_at"], str(rows[-1]["id"]))
            if more
            else None,
        }

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, order_id: uuid.UUID) -> None:
        row = _pg(self.store.get, str(order_id))
        if row is None:
            raise NOT_FOUND
        fills = _pg(self.store.fills, [row["id"]])[str(row["id"])]
        resp.media = order_json(row, self.markets[row["symbol"]], fills)

    def on_get_events(
        self, req: falcon.Request, resp: falcon.Response, order_id: uuid.UUID
    ) -> None:
        row = _pg(self.store.get, str(order_id))
        if row is None:
            raise NOT_FOUND
        resp.media = {"events": [event_json(e) for e in _pg(self.store.events, str(order_id))]}


class MarketsResource:
    def __init__(self, markets: dict[str, Market], store: OrderStore) -> None:
        self.markets = markets
        self.store = store

    def pools(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for row in _pg(self.store.pools):
            out.setdefault(row["symbol"], {})[row["venue"]] = pool_from_state(row["state"])
        return out

    def reference(self, symbol: str) -> Decimal:
        return self.references().get(symbol, self.markets[symbol].reference_price)

    def references(self) -> dict[str, Decimal]:
        return {r["symbol"]: r["reference_price"] for r in _pg(self.store.markets_state)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        pools = self.pools()
        refs = self.references()
        resp.media = {
            "markets": [
                market_json(m, pools.get(m.symbol, {}), refs.get(m.symbol, m.reference_price))
                for m in self.markets.values()
            ]
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


class QuoteResource:
    def __init__(self, markets_resource: MarketsResource) -> None:
        self.markets = markets_resource

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        symbol, side, amount = parse_quote_query(query_params(req), self.markets.markets)
        market = self.markets.markets[symbol]
        pools = self.markets.pools().get(symbol, {})
        if not pools:
            raise ApiError(409, "pool_not_open", f"{symbol} has no open pool yet", "symbol")
        # Resting orders of the book cross first, as they would for a market order: those
        # within the default slippage (50 bps) of the venues' price.
        ask, bid = venue_quotes(pools, market.base.decimals)
        px = ask if side == "buy" else bid
        internal: list[tuple[int, int]] = []
        if px is not None:
            bound = worst_price(side, px, 50)
            left = amount
            for price, qty in _pg(self.markets.store.resting, symbol, side, bound):
                if left == 0:
                    break
                internal.append((price, min(qty, left)))
                left -= min(qty, left)
        rest = amount - sum(q for _, q in internal)
        try:
            route = best_route(pools, side, rest) if rest else None
        except InsufficientLiquidity:
            raise ApiError(
                409, "insufficient_liquidity", "the pools cannot fill this amount", "amount"
            ) from None
        resp.media = plan_json(market, side, route, internal)


class HealthResource:
    def __init__(self, store: OrderStore, queue: OrderQueue) -> None:
        self.store = store
        self.queue = queue

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        body: dict[str, Any] = {
            "status": "ok",
            "postgres": "connected",
            "redis": "connected",
            "version": __version__,
            "timestamp": datetime.now(UTC).isoformat(),
        }
        try:
            self.store.ping()
        except Exception:  # noqa: BLE001 - any failure means not usable
            body["postgres"] = "disconnected"
        try:
            self.queue.ping()
        except Exception:  # noqa: BLE001
            body["redis"] = "disconnected"
        if "disconnected" in (body["postgres"], body["redis"]):
            body["status"] = "degraded"
            resp.status = falcon.HTTP_503
            resp.set_header("Retry-After", "2")
        resp.media = body


class MetricsResource:
    def __init__(self, store: OrderStore) -> None:
        self.store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        for state, n in self.store.pool_stats().items():
            db_pool_connections.labels(state).set(n)
        data, content_type = render()
        resp.data = data
        resp.content_type = content_type


def query_params(req: falcon.Request) -> Mapping[str, str]:
    # A repeated parameter arrives as a list; validation refuses it, naming the parameter.
    return cast(Mapping[str, str], req.params)


def read_json(req: falcon.Request, max_bytes: int) -> Any:
    length = req.content_length
    if length is not None and length > max_bytes:
        raise ApiError(413, "body_too_large", f"the body is larger than {max_bytes} bytes")
    ctype = (req.content_type or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = req.bounded_stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ApiError(413, "body_too_large", f"the body is larger than {max_bytes} bytes")
    try:
        return orjson.loads(raw)
    except ValueError:
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
