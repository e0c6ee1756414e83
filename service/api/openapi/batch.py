"""The OpenAPI parts of POST /orders/batch (service/api/batch.py): its body, its answer and
the path item."""

from __future__ import annotations

from typing import Any

from service.api.batch import MAX_BATCH_ORDERS
from service.api.openapi.parts import JSON, common, json_body, ref


def batch_schemas() -> dict[str, Any]:
    item_error = {
        "type": "object",
        "required": ["code", "message", "index"],
        "properties": {
            "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
            "message": {"type": "string"},
            "field": {
                "type": "string",
                "description": "the field at fault, named from the batch body: `orders[3].amount`",
            },
            "index": {"type": "integer", "minimum": 0, "description": "the order's position"},
        },
    }
    return {
        "NewOrderBatch": {
            "type": "object",
            "additionalProperties": False,
            "required": ["orders"],
            "properties": {
                "orders": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BATCH_ORDERS,
                    "description": "order bodies as for POST /orders; an order that is not "
                    "one gets its own error result, and the others are placed",
                    "items": {
                        "anyOf": [
                            ref("NewOrder"),
                            {"description": "anything else: that order's 400 result"},
                        ]
                    },
                }
            },
        },
        "BatchResults": {
            "type": "object",
            "required": ["results"],
            "properties": {
                "results": {
                    "type": "array",
                    "description": "one per order, in request order",
                    "items": {
                        "oneOf": [
                            {
                                "type": "object",
                                "required": ["status", "order"],
                                "properties": {
                                    "status": {
                                        "type": "integer",
                                        "enum": [200, 201],
                                        "description": "201 placed; 200 an identical retry "
                                        "(same clientId and clientOrderId): the original",
                                    },
                                    "order": ref("Order"),
                                },
                            },
                            {
                                "type": "object",
                                "required": ["status", "error"],
                                "properties": {
                                    "status": {
                                        "type": "integer",
                                        "minimum": 400,
                                        "maximum": 599,
                                        "description": "400 bad order, 403 another key's "
                                        "client, 409 clientOrderId used with another body",
                                    },
                                    "error": item_error,
                                },
                            },
                        ]
                    },
                }
            },
        },
    }


def batch_path() -> dict[str, Any]:
    post = {
        "summary": f"Place up to {MAX_BATCH_ORDERS} orders in one request",
        "description": (
            "Every valid order is committed in ONE transaction and queued in one Redis "
            "pipeline; each order gets its own result, in request order. An order with an "
            "error stores nothing. Idempotency is per order, by clientOrderId (no "
            "Idempotency-Key header). The body may be up to 100 x MAX_BODY_BYTES. The "
            "batch counts as one request against the client rate limit."
        ),
        "requestBody": {"required": True, "content": {JSON: {"schema": ref("NewOrderBatch")}}},
        "responses": {
            "200": json_body(ref("BatchResults"), "one result per order, in request order"),
            **common("400", "401", "413", "415", "429", "503"),
        },
    }
    return {
        "/orders/batch": {"post": {**post, "operationId": "placeOrderBatch"}},
        "/api/orders/batch": {
            "post": {
                **post,
                "operationId": "placeOrderBatchAlias",
                "summary": "Same as POST /orders/batch",
            }
        },
    }
