"""POST /orders/batch: up to 100 orders in one request, one commit and one Redis pipeline.

Body `{"orders": [<order body>, …]}`; answer `200 {"results": [...]}` with one result per
order, in request order:
- `{"status": 201, "order": {…}}` created, `{"status": 200, "order": {…}}` an identical
  retry of an order that exists (same client and clientOrderId, same body);
- `{"status": 4xx, "error": {"code", "message", "field": "orders[3].amount", "index": 3}}`:
  400 bad order, 403 another key's client, 409 the clientOrderId was used with another body.
An order with an error stores nothing; the others are stored anyway. A body that is not a
batch at all (not an object, `orders` missing, empty or over 100) answers 400 for the
whole request, storing nothing.

Every valid order goes into ONE `OrderStore.insert_many` statement (one transaction, one
commit) and, once committed, into ONE pipeline of XADDs plus one PUBLISH of their
`pending` events (`GroupCommit.insert_all`). Idempotency is per order, by its
`clientOrderId` (the `Idempotency-Key` header names one request, so a batch refuses it);
two orders of one batch with the same key are one order, as two identical retries are.
The batch counts as one request against the client rate limit (charged to the first
valid order's client when the API runs open).
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import falcon

from service.api.auth import admit_client
from service.api.media import read_json
from service.api.render import order_json
from service.api.resources import OrdersResource, order_row
from service.api.validation import NewOrder, parse_order
from service.errors import ApiError, bad_request
from service.store.orders import Unavailable

log = logging.getLogger(__name__)

MAX_BATCH_ORDERS = 100
FIELDS = ("orders",)


def batch_body_limit(max_body_bytes: int) -> int:
    """The body limit of a batch: room for MAX_BATCH_ORDERS orders of the single-order
    limit each (MAX_BODY_BYTES, default 16 KiB: 1.6 MB)."""
    return max_body_bytes * MAX_BATCH_ORDERS


def item_error(index: int, e: ApiError) -> dict[str, Any]:
    """An order's error as its result: the field named from the batch body (`orders[i].f`)."""
    err = e.body()["error"]
    field = e.field
    if field is None:
        err["field"] = f"orders[{index}]"
    elif field != "Idempotency-Key":
        err["field"] = f"orders[{index}].{field}"
    err["index"] = index
    return {"status": e.status, "error": err}


def new_order_ids(n: int) -> list[uuid.UUID]:
    """n uuid4s, as uuid.uuid4 makes them, from one os.urandom call."""
    raw = os.urandom(16 * n)
    return [uuid.UUID(bytes=raw[i : i + 16], version=4) for i in range(0, 16 * n, 16)]


def parse_batch(body: object) -> list[object]:
    """The batch body -> its order bodies (still unchecked), or 400 for the whole request."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the request body must be a JSON object")
    for key in body:
        if key not in FIELDS:
            name = key if isinstance(key, str) else str(key)
            raise bad_request(name, f"unknown field {name!r}", code="unknown_field")
    orders = body.get("orders")
    if orders is None:
        raise bad_request("orders", "orders is required", code="missing_field")
    if not isinstance(orders, list):
        raise bad_request("orders", "orders must be an array of order bodies")
    if not 1 <= len(orders) <= MAX_BATCH_ORDERS:
        raise bad_request("orders", f"orders must hold 1 to {MAX_BATCH_ORDERS} orders")
    return orders


class BatchResource:
    """Shares the single-order resource's markets, store and group commit."""

    def __init__(self, orders: OrdersResource) -> None:
        self.orders = orders
        self.max_body = batch_body_limit(orders.settings.max_body_bytes)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.get_header("Idempotency-Key") is not None:
            raise bad_request(
                "Idempotency-Key",
                "a batch takes no Idempotency-Key header; give each order a clientOrderId",
            )
        bodies = parse_batch(read_json(req, self.max_body))
        markets = self.orders.markets
        now = datetime.now(UTC)
        results: list[dict[str, Any] | None] = [None] * len(bodies)
        valid: list[tuple[int, NewOrder]] = []
        for i, body in enumerate(bodies):
            try:
                order = parse_order(body, markets, now=now)
                admit_client(req, order.client_id)  # 403 for another key's client
            except ApiError as e:
                if e.status == 429:  # the client's rate limit: the whole request
                    raise
                results[i] = item_error(i, e)
                continue
            valid.append((i, order))

        for symbol in sorted({order.symbol for _, order in valid}):
            self.orders.backpressure.admit(symbol)  # 503 for the request, nothing stored
        ids = new_order_ids(len(valid))
        rows = [
            order_row(order, markets[order.symbol], oid)
            for (_, order), oid in zip(valid, ids, strict=True)
        ]
        inserted = self.orders.commits.insert_all(rows) if rows else []
        existing: list[tuple[int, dict[str, Any]]] = []
        for (i, order), got in zip(valid, inserted, strict=True):
            if isinstance(got, Unavailable):
                raise got  # PostgreSQL down: 503 for the request, nothing was stored
            if isinstance(got, BaseException):  # this order only (the others are stored)
                log.error("batch order %d failed: %r", i, got)
                results[i] = item_error(i, ApiError(500, "internal_error", "internal error"))
                continue
            if got is not None:
                row, _position = got
                results[i] = {"status": 201, "order": order_json(row, markets[order.symbol])}
                continue
            try:
                existing.append((i, self.orders.existing(order)))
            except ApiError as e:  # the key was used with another body: 409
                results[i] = item_error(i, e)
        if existing:
            fills = self.orders.store.fills([row["id"] for _, row in existing])
            for i, row in existing:
                out = order_json(row, markets[row["symbol"]], fills[str(row["id"])])
                results[i] = {"status": 200, "order": out}
        resp.status = falcon.HTTP_200
        resp.media = {"results": results}
