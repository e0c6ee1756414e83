"""The checks of a WebSocket request before its upgrade: the API key, the query parameters,
the order a socket follows, and the contract's error body as an HTTP response."""

from __future__ import annotations

import email.utils
import http
import logging
import re
import uuid
from collections.abc import Mapping

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Response

from service.auth import KeyRing
from service.domain import cursor as cursors
from service.errors import ApiError, bad_request
from service.relay.hub import Target
from service.store.events import EventStore

log = logging.getLogger(__name__)

DIGITS = re.compile(r"[0-9]{1,19}")
MAX_SEQ = 2**31 - 1
MAX_CLIENT_ID = 256
MAX_KEY_CHARS = 1024


def client_target(query: Mapping[str, str], key_client: str | None) -> Target:
    client_id = query.get("clientId") or key_client
    if not client_id:
        raise bad_request("clientId", "clientId is required", code="missing_field")
    if len(client_id) > MAX_CLIENT_ID or "\n" in client_id:
        raise bad_request("clientId", f"clientId must be 1..{MAX_CLIENT_ID} characters")
    if key_client is not None and client_id != key_client:
        raise ApiError(403, "forbidden", "clientId is not the API key's client", "clientId")
    if "afterEventId" in query:
        raise bad_request(
            "afterEventId",
            "afterEventId is retired: eventIds are taken before commit, so an event can"
            " commit after a higher one and a resume after an eventId could miss it."
            " Resume with cursor=<the cursor of the last message received> (cursor= with"
            " an empty value replays every event of the client)",
            code="retired_parameter",
        )
    raw = query.get("cursor")
    if raw is None:
        return Target(client_id=client_id)
    try:
        offsets = cursors.decode(raw)
    except cursors.CursorError as e:
        raise bad_request("cursor", f"{e}: pass the cursor of a message as received") from None
    return Target(client_id=client_id, cursor=tuple(sorted(offsets.items())))


def int_param(query: Mapping[str, str], name: str, maximum: int) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not DIGITS.fullmatch(raw) or int(raw) > maximum:
        raise bad_request(name, f"{name} must be an integer from 0 to {maximum}")
    return int(raw)


def error_response(err: ApiError) -> Response:
    body = orjson.dumps(err.body())
    status = http.HTTPStatus(err.status)
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(len(body))),
            ("Content-Type", "application/json"),
            *err.headers.items(),
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def too_many_connections(limit: int, scope: str) -> Response:
    """429 when one client holds its maximum, 503 when the relay does ("in all")."""
    status = 503 if scope == "in all" else 429
    return error_response(
        ApiError(
            status,
            "too_many_connections",
            f"at most {limit} WebSocket connections {scope}",
            headers={"Retry-After": "5"},
        )
    )


def describe(target: Target) -> str:
    if target.order_id is not None:
        return f"orderId={target.order_id}"
    return f"clientId={target.client_id}"


def authenticate(keys: KeyRing, headers: Headers, query: Mapping[str, str]) -> str | None:
    """The key's clientId; None when the relay runs open (no keys configured). The rules
    of REST (api/auth.py): every key the request carries must be known and of one client."""
    if not keys:
        return None
    given = [query["apiKey"]] if query.get("apiKey") else []
    given += [k.strip() for k in headers.get_all("X-API-Key") if k.strip()]
    for auth in headers.get_all("Authorization"):
        scheme, _, token = auth.strip().partition(" ")
        given.append(token.strip() if scheme.lower() == "bearer" else "")
    if not given:
        raise ApiError(
            401,
            "unauthorized",
            "an API key is required (apiKey query, X-API-Key or Authorization: Bearer)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = {keys.client_for(k) if 0 < len(k) <= MAX_KEY_CHARS else None for k in given}
    if None in found or len(found) > 1:
        message = "unknown API key" if None in found else "the keys of two clients"
        raise ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})
    (client,) = found
    return client


async def order_target(
    store: EventStore, query: Mapping[str, str], key_client: str | None
) -> Target:
    """The one order an /api/orders/execute socket follows: 404 unless the key's client owns it."""
    raw = query.get("orderId")
    if not raw:
        raise bad_request("orderId", "orderId is required", code="missing_field")
    try:
        order_id = str(uuid.UUID(raw))
    except ValueError:
        raise bad_request("orderId", "orderId must be a UUID") from None
    from_seq = int_param(query, "fromSeq", MAX_SEQ) or 0
    try:
        owner = await store.order_owner(order_id)
    except Exception as e:  # psycopg or pool timeout: the client may retry
        log.warning("order lookup failed: %s", e)
        raise ApiError(
            503,
            "dependency_unavailable",
            "postgres is unavailable",
            headers={"Retry-After": "2"},
        ) from None
    if owner is None or (key_client is not None and owner != key_client):
        raise ApiError(404, "not_found", "no such order", "orderId")
    return Target(order_id=order_id, from_seq=from_seq)
