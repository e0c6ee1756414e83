"""GET /openapi.json: an OpenAPI 3.1 document of every endpoint, built from the same
constants the validation uses (field names, enums, patterns, ranges, the configured
markets), so the document and the code cannot drift apart.

Where a rule depends on another value (a token's decimals, whether a market is launched,
`expiresAt` in the future) the schema is as strict as JSON Schema can say without
refusing anything the code accepts, and the rest is in the `description`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falcon
import orjson

from service import __version__
from service.api.auth import API_KEY_HEADER
from service.api.openapi.parts import RESPONSES
from service.api.openapi.paths import build_paths
from service.api.openapi.schemas import build_schemas
from service.config import Settings
from service.domain.markets import Market


def build_openapi(settings: Settings, markets: Mapping[str, Market]) -> dict[str, Any]:
    """The document for this configuration (markets, simulator on/off, keys on/off)."""
    auth = bool(settings.api_keys)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "order-engine",
            "version": __version__,
            "description": (
                "Order execution engine for a simulated Solana DEX. Amounts are quantities of "
                "the BASE token; requests take JSON numbers or decimal strings, responses "
                "send decimal strings. Every 4xx/5xx body is "
                '{"error": {"code", "message", "field"}}. '
                "Live events come from the WebSocket relay (/config.json says where): "
                "ws://…/ws?clientId=C[&cursor=X] (every event of C's orders; every message "
                "carries a `cursor`, see the OrderUpdate schema; afterEventId is retired, 400) "
                "and ws://…/api/orders/execute?orderId=ID[&fromSeq=N]. "
                + (
                    "API keys are required (Authorization: Bearer or X-API-Key); each key sees "
                    "only its own client's orders."
                    if auth
                    else "This server runs OPEN: no API keys configured."
                )
            ),
        },
        "servers": [{"url": "/"}],
        "paths": build_paths(markets, settings.sim_enabled),
        "components": {
            "schemas": build_schemas(markets),
            "responses": RESPONSES,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "the API key"},
                "apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
            },
        },
    }
    if auth:
        doc["security"] = [{"bearer": []}, {"apiKey": []}]
    return doc


class OpenApiResource:
    def __init__(self, document: dict[str, Any]) -> None:
        self.data = orjson.dumps(document)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = self.data
        resp.content_type = falcon.MEDIA_JSON
