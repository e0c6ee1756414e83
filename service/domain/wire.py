"""The order:update message, built the same way for live events and for replays.

On pub/sub a message is `client_id \\n order_id \\n seq event_id shard offset \\n <ws json>`:
the relay routes and orders on the header lines (no JSON parsing) and forwards the JSON bytes
with only the connection's `cursor` added (`with_cursor`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson

from service.domain.cursor import Position

# Keys of the stored event payload that the WebSocket message carries.
WS_FIELDS = ("filled", "remaining", "avgPrice", "txHash", "failureReason", "attempts")


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ws_message(
    order_id: str,
    status: str,
    seq: int,
    event_id: int,
    ts: datetime | str,
    payload: dict[str, Any],
) -> bytes:
    """The order:update message; `ts` a datetime, or already as `iso` gives it."""
    body: dict[str, Any] = {"id": order_id, "status": status, "seq": seq, "eventId": event_id}
    for key in WS_FIELDS:
        body[key] = payload.get(key)
    body["ts"] = ts if isinstance(ts, str) else iso(ts)
    return orjson.dumps({"event": "order:update", "payload": body})


def stored_payload(fields_json: str, extra: dict[str, Any] | None) -> str:
    """An event's stored payload as JSON text: its WebSocket fields (`fields_json`, an
    object as orjson renders it), then `extra`'s keys (none of them a WS field), as
    orjson.dumps of the merged dict would give it."""
    if not extra:
        return fields_json
    try:
        more = orjson.dumps(extra).decode()
    except TypeError:  # an int past 64 bits: the stdlib's
        more = json.dumps(extra, separators=(",", ":"), ensure_ascii=False)
    return f"{fields_json[:-1]},{more[1:]}"


def update_frame(
    client_id: str,
    order_id: str,
    status: str,
    seq: int,
    position: Position,
    ts: str,
    fields_json: str,
) -> bytes:
    """pubsub_frame(ws_message(...)) in one piece, from the fields already as JSON (ids,
    statuses and `iso` times need no escaping)."""
    event_id, shard, offset = position
    return (
        f"{client_id}\n{order_id}\n{seq} {event_id} {shard} {offset}\n"
        f'{{"event":"order:update","payload":{{"id":"{order_id}","status":"{status}",'
        f'"seq":{seq},"eventId":{event_id},{fields_json[1:-1]},"ts":"{ts}"}}}}'
    ).encode()


def with_cursor(message: bytes, cursor: str) -> bytes:
    """The order:update message with `cursor` added to its payload (the message ends with
    the payload's and the envelope's closing braces; a cursor is base64url, JSON-safe)."""
    return b"".join((message[:-2], b',"cursor":"', cursor.encode(), b'"}}'))


def with_cursor_bytes(message: bytes, cursor: bytes) -> bytes:
    """with_cursor, the cursor already bytes."""
    return b"".join((message[:-2], b',"cursor":"', cursor, b'"}}'))


def pubsub_frame(
    client_id: str, order_id: str, seq: int, position: Position, message: bytes
) -> bytes:
    event_id, shard, offset = position
    return f"{client_id}\n{order_id}\n{seq} {event_id} {shard} {offset}\n".encode() + message


def parse_frame(frame: bytes) -> tuple[str, str, int, Position, bytes]:
    """(client_id, order_id, seq, position, message); ValueError if malformed."""
    client_id, order_id, seq, event_id, shard, offset, message = frame_fields(frame)
    return client_id, order_id, seq, Position(event_id, shard, offset), message


def frame_fields(frame: bytes) -> tuple[str, str, int, int, int, int, bytes]:
    """(client_id, order_id, seq, event_id, shard, offset, message); ValueError if malformed."""
    client_id, order_id, ids, message = frame.split(b"\n", 3)
    seq, event_id, shard, offset = map(int, ids.split(b" "))
    return client_id.decode(), order_id.decode(), seq, event_id, shard, offset, message


# Several frames in one pub/sub message (a worker's batch, the API's group commit): the
# record separator, which neither a clientId, an order id nor orjson's output contains,
# before and between them. The relay splits them and handles each as a single frame.
BATCH_SEP = b"\x1e"


def pubsub_batch(frames: list[bytes]) -> bytes:
    return frames[0] if len(frames) == 1 else BATCH_SEP + BATCH_SEP.join(frames)


def split_frames(data: bytes) -> list[bytes]:
    return data[1:].split(BATCH_SEP) if data[:1] == BATCH_SEP else [data]
