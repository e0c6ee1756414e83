"""The HTTP resources: orders, events, quote, markets, health, metrics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import falcon

from engine_core import fsm
from engine_core.limits import venue_quotes
from engine_core.planner import plan_fill, take_makers
from engine_core.pools import pool_from_state
from service import __version__
from service.api.auth import admit_client, scope_client
from service.api.backpressure import Backpressure
from service.api.group_commit import GroupCommit
from service.api.market_commands import MarketCommands, raise_for_reply
from service.api.media import query_params, read_json
from service.api.queries import (
    encode_cursor,
    parse_list_query,
    parse_quote_query,
)
from service.api.render import event_json, market_json, order_json
from service.api.validation import (
    NewOrder,
    parse_order,
)
from service.config import Settings
from service.domain.cursor import Position
from service.domain.markets import Market
from service.domain.plan_json import plan_json, worst_price
from service.domain.quote_sizing import size_for_quote
from service.domain.units import from_base_units
from service.errors import ApiError, unavailable
from service.metrics import db_pool_connections
from service.metrics.exposition import render
from service.store.orders import OrderStore

NOT_FOUND = ApiError(404, "not_found", "no such order", "id")


def order_row(order: NewOrder, market: Market, order_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The values `OrderStore.insert_many` stores for a new order, with its pending payload
    (`order_id`: a uuid4 taken already, else a new one)."""
    return {
        "id": uuid.uuid4() if order_id is None else order_id,
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
        "quote_target": order.quote_amount,
        "payload": {
            "filled": "0",
            "remaining": from_base_units(order.amount, market.base.decimals),
            "avgPrice": None,
            "txHash": None,
            "failureReason": None,
            "attempts": 0,
        },
    }


class OrdersResource:
    def __init__(
        self,
        settings: Settings,
        markets: dict[str, Market],
        store: OrderStore,
        queue: MarketCommands,
    ) -> None:
        self.settings = settings
        self.markets = markets
        self.store = store
        self.queue = queue
        # concurrent POSTs of this process share one transaction and one Redis pipeline
        self.commits = GroupCommit(settings, store, queue.redis)
        self.backpressure = Backpressure(settings, queue.redis)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, self.settings.max_body_bytes)
        order = parse_order(
            body,
            self.markets,
            now=datetime.now(UTC),
            idempotency_key=req.get_header("Idempotency-Key"),
        )
        admit_client(req, order.client_id)  # 403 for another key's client; rate limit when open
        self.backpressure.admit(order.symbol)  # 503 while its shard is too far behind
        created = self._insert(order)
        if created is None:
            row = self.existing(order)
            resp.status = falcon.HTTP_200
            fills = self.store.fills([row["id"]])[str(row["id"])]
            resp.media = order_json(row, self.markets[row["symbol"]], fills)
            return
        row, _position = created  # queued and published by the group commit already
        out = order_json(row, self.markets[order.symbol])
        resp.status = falcon.HTTP_201
        resp.location = f"/orders/{out['id']}"
        resp.media = out

    def _insert(self, order: NewOrder) -> tuple[dict[str, Any], Position] | None:
        return self.commits.insert(order_row(order, self.markets[order.symbol]))

    def existing(self, order: NewOrder) -> dict[str, Any]:
        assert order.idem_key is not None
        row = self.store.by_idem_key(order.client_id, order.idem_key)
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
        rows = self.store.list_orders(client_id, q.status, q.limit + 1, q.cursor)
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        fills = self.store.fills([r["id"] for r in rows])
        resp.media = {
            "orders": [order_json(r, self.markets[r["symbol"]], fills[str(r["id"])]) for r in rows],
            "nextCursor": encode_cursor(rows[-1]["created_at"], str(rows[-1]["id"]))
            if more
            else None,
        }

    def on_get_item(self, req: falcon.Request, resp: falcon.Response, order_id: uuid.UUID) -> None:
        row = self.store.get(str(order_id))
        if row is None:
            raise NOT_FOUND
        fills = self.store.fills([row["id"]])[str(row["id"])]
        resp.media = order_json(row, self.markets[row["symbol"]], fills)

    def on_delete_item(
        self, req: falcon.Request, resp: falcon.Response, order_id: uuid.UUID
    ) -> None:
        oid = str(order_id)
        row = self.store.get(oid)
        if row is None:  # another client's order was answered 404 by the auth middleware
            raise NOT_FOUND
        if fsm.is_terminal(row["status"]):
            raise ApiError(409, "order_not_cancelable", f"the order is {row['status']}", "id")
        queued, reply = self.queue.send(
            row["symbol"], "cancel", {"id": oid}, timeout=self.settings.cancel_wait_ms / 1000
        )
        if queued and reply is None:
            # Not answered in time (an attempt in flight): 202, the order as it stands; the
            # worker applies the cancel all the same, and its `canceled` event tells.
            resp.status = falcon.HTTP_202
        else:
            raise_for_reply(reply)
        row = self.store.get(oid)
        assert row is not None
        resp.media = order_json(
            row, self.markets[row["symbol"]], self.store.fills([row["id"]])[oid]
        )

    def on_get_events(
        self, req: falcon.Request, resp: falcon.Response, order_id: uuid.UUID
    ) -> None:
        row = self.store.get(str(order_id))
        if row is None:
            raise NOT_FOUND
        resp.media = {"events": [event_json(e) for e in self.store.events(str(order_id))]}


class MarketsResource:
    def __init__(self, markets: dict[str, Market], store: OrderStore) -> None:
        self.markets = markets
        self.store = store

    def pools(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for row in self.store.pools():
            out.setdefault(row["symbol"], {})[row["venue"]] = pool_from_state(row["state"])
        return out

    def reference(self, symbol: str) -> Decimal:
        return self.references().get(symbol, self.markets[symbol].reference_price)

    def references(self) -> dict[str, Decimal]:
        return {r["symbol"]: r["reference_price"] for r in self.store.markets_state()}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        pools = self.pools()
        refs = self.references()
        resp.media = {
            "markets": [
                market_json(m, pools.get(m.symbol, {}), refs.get(m.symbol, m.reference_price))
                for m in self.markets.values()
            ]
        }


class QuoteResource:
    def __init__(self, markets_resource: MarketsResource) -> None:
        self.markets = markets_resource

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        symbol, side, amount, target = parse_quote_query(query_params(req), self.markets.markets)
        market = self.markets.markets[symbol]
        pools = self.markets.pools().get(symbol, {})
        if not pools:
            raise ApiError(409, "pool_not_open", f"{symbol} has no open pool yet", "symbol")
        # The same plan as a market order's (engine_core.planner): resting orders within the
        # default slippage (50 bps) of the venues' price, each taken only where it pays at
        # least as well as the venues at that size.
        ask, bid = venue_quotes(pools, market.base.decimals)
        px = ask if side == "buy" else bid
        makers: list[tuple[int, int]] = []
        if px is not None:
            rows = self.markets.store.resting(symbol, side, worst_price(side, px, 50))
            makers = [(int(p), int(q)) for p, q in rows]
        if target is not None:  # quoteAmount: sized as a market order would be
            amount = size_for_quote(
                pools, side, target, [(0, p, q) for p, q in makers], market.base.decimals
            )
            if not amount:
                raise ApiError(
                    409, "insufficient_liquidity", "nothing fits this quoteAmount", "quoteAmount"
                )
        assert amount is not None
        book_qty, route = plan_fill(pools, side, amount, makers, None, market.base.decimals)
        if book_qty + (route.amount if route is not None else 0) < amount:
            raise ApiError(
                409, "insufficient_liquidity", "the pools cannot fill this amount", "amount"
            )
        internal = [(p, q) for _, p, q in take_makers([(0, p, q) for p, q in makers], book_qty)]
        resp.media = plan_json(market, side, route, internal)
        if target is not None:
            resp.media["quoteTarget"] = from_base_units(target, market.quote.decimals)


class HealthResource:
    def __init__(self, store: OrderStore, queue: MarketCommands) -> None:
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
            unowned = self.queue.unowned_shards()
            if unowned:
                # Orders of these shards wait for a worker: degraded, but the API itself is
                # fine (200, so a load balancer keeps it).
                body["status"] = "degraded"
                body["unownedShards"] = unowned
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
