"""API keys: who is calling, and which orders they may see.

With `API_KEYS` configured every request except the open paths (`/health`, `/metrics`,
`/openapi.json`, and the pages and their static files) needs a key, sent as
`Authorization: Bearer <key>` or `X-API-Key: <key>`:

- no key or an unknown key -> 401 (also when a request carries a good key and a bad one,
  or the keys of two clients); the key's clientId goes to `req.context.client_id`;
- a body whose `clientId` is not the key's client -> 403 (`admit_client`, called by the
  order resource once the body is parsed);
- `GET /orders` is limited to the key's client; a `clientId` query for another -> 403
  (`scope_client`);
- any route with an `{order_id}` (GET, DELETE, events, whatever is added later) answers
  404 for another client's order, exactly as for an unknown one, so ids can't be probed.

Only sha256 digests of the keys are kept, and a given key is compared with every one of
them with `hmac.compare_digest`, no early exit: the time taken does not depend on which key
matched or how much of it did. Keys are never logged.

Market commands (`/sim/*`) are an operator's: with any keys configured (API_KEYS or
OPERATOR_API_KEYS) they need a key of OPERATOR_API_KEYS; a client's key there is 403, and
the operator's name goes to `req.context.operator`. A wrong key (anywhere) also costs the
source a slot of its wrong-key budget (`bad_key`, api/client_rate_limit.py).

Without keys the API runs open (`req.context.client_id` is None) and says so once, when
the app is created.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import falcon

from service.auth import KeyRing
from service.errors import ApiError
from service.store.orders import OrderStore

log = logging.getLogger(__name__)

# Open with keys too: probes, the API description, and the pages people load in a browser
# (which can't send a key; their scripts send it with each API call).
OPEN_PATHS: frozenset[str] = frozenset(
    {"/health", "/metrics", "/openapi.json", "/", "/blotter", "/docs", "/config.json"}
)
OPEN_PREFIXES: tuple[str, ...] = ("/static/",)
API_KEY_HEADER = "X-API-Key"

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="order-engine"'}
_MAX_KEY_CHARS = 1024
SIM_PREFIX = "/sim/"


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=dict(_CHALLENGE))


def forbidden_client() -> ApiError:
    return ApiError(403, "forbidden", "clientId is not the API key's client", "clientId")


def order_not_found() -> ApiError:
    return ApiError(404, "not_found", "no such order", "id")


def is_open_path(path: str) -> bool:
    return (path.rstrip("/") or "/") in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def presented_keys(req: falcon.Request) -> list[str]:
    """Every key the request carries: `X-API-Key`, then `Authorization: Bearer`.

    An `Authorization` header in another scheme counts as a wrong key (""), so a request
    that carries any credential we can't accept is refused, whatever else it carries.
    """
    keys = []
    key = (req.get_header(API_KEY_HEADER) or "").strip()
    if key:
        keys.append(key)
    auth = (req.get_header("Authorization") or "").strip()
    if auth:
        scheme, _, token = auth.partition(" ")
        keys.append(token.strip() if scheme.lower() == "bearer" else "")
    return keys


class AuthMiddleware:
    """Falcon middleware: authenticate in process_request, check order ownership in
    process_resource (after routing, so it knows the `{order_id}`)."""

    def __init__(
        self,
        api_keys: Mapping[str, str],
        store: OrderStore | None = None,
        *,
        operator_keys: Mapping[str, str] | None = None,
        bad_key: Callable[[falcon.Request], None] | None = None,
    ) -> None:
        self.keys = KeyRing(api_keys)
        self.operators = KeyRing(operator_keys or {})
        self.store = store
        self._bad_key = bad_key
        if self.keys and not self.operators:
            log.warning("API keys but no OPERATOR_API_KEYS: /sim/* answers 403 to everyone")
        if self.keys:
            log.info("API authentication on: %d API key(s) configured", len(self.keys))
        else:
            log.warning(
                "the engine runs WITHOUT AUTHENTICATION: no API_KEYS configured, every "
                "client can read and place orders for any clientId"
            )

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def _lookup(self, ring: KeyRing, keys: list[str]) -> set[str | None]:
        return {ring.client_for(k) if 0 < len(k) <= _MAX_KEY_CHARS else None for k in keys}

    def _unknown(self, req: falcon.Request) -> ApiError:
        if self._bad_key is not None:
            self._bad_key(req)  # 429 once this source sent too many wrong keys
        return _unauthorized("unknown API key")

    def _operator(self, req: falcon.Request, keys: list[str]) -> None:
        names = self._lookup(self.operators, keys)
        if None in names:
            if None not in self._lookup(self.keys, keys):
                raise ApiError(403, "forbidden", "market commands need an operator key")
            raise self._unknown(req)
        if len(names) > 1:
            raise _unauthorized("the request carries the keys of two operators")
        (req.context.operator,) = names
        req.context.authenticated = True

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.client_id = None
        req.context.operator = None
        req.context.authenticated = False
        operator_path = req.path.startswith(SIM_PREFIX)
        if is_open_path(req.path) or not (self.keys or (operator_path and self.operators)):
            return
        keys = presented_keys(req)
        if not keys:
            raise _unauthorized(
                f"an API key is required (Authorization: Bearer <key> or {API_KEY_HEADER})"
            )
        if operator_path:
            self._operator(req, keys)
            return
        clients = self._lookup(self.keys, keys)
        if None in clients:
            raise self._unknown(req)
        if len(clients) > 1:
            raise _unauthorized("the request carries the keys of two clients")
        (client,) = clients
        req.context.client_id = client
        req.context.authenticated = True

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        client = req.context.client_id
        if client is None or "order_id" not in params or self.store is None:
            return
        row = self.store.get(str(params["order_id"]))  # PostgreSQL down: the app's 503 handler
        if row is None or row["client_id"] != client:
            raise order_not_found()


def authenticated_client(req: falcon.Request) -> str | None:
    """The API key's clientId, or None when the API runs open."""
    return getattr(req.context, "client_id", None)


def admit_client(req: falcon.Request, client_id: str) -> None:
    """For a parsed order body: 403 unless `client_id` is the key's client; when the API
    runs open, charge the rate limit of the body's client (no key to go by)."""
    key_client = authenticated_client(req)
    if key_client is not None:
        if client_id != key_client:
            raise forbidden_client()
        return
    # set by RateLimitMiddleware when it could not tell the client before the body was read
    pending = getattr(req.context, "rate_limit_pending", None)
    if pending is not None:
        req.context.rate_limit_pending = None
        pending(client_id)


def scope_client(req: falcon.Request, requested: str | None) -> str | None:
    """The clientId a list query may see: the key's client (403 for another), or whatever
    was asked when the API runs open."""
    key_client = authenticated_client(req)
    if key_client is None:
        return requested
    if requested is not None and requested != key_client:
        raise forbidden_client()
    return key_client
