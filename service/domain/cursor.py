"""Positions in the per-shard event logs, and the opaque resume cursor built from them.

Every event has a position: its shard (of its order's market) and its offset in that
shard's log (1, 2, 3, … in commit order, no gaps; service/store/migrations/0005). A cursor
is a set of per-shard offsets, "every event up to this offset of this shard": a client that
reconnects with the cursor of the last message it got is replayed exactly its events
after it, shard by shard (service/relay/hub.py).

On the wire the cursor is base64url (no padding) of `shard:offset` pairs joined by `,`,
in shard order. Clients must treat it as opaque: the encoding may change, old cursors stay
readable.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import NamedTuple

MAX_SHARD = 1023  # SHARDS is at most 1024
MAX_OFFSET = 2**63 - 1
MAX_CURSOR_CHARS = 16_384
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_PAIR = re.compile(r"([0-9]{1,4}):([0-9]{1,19})")


class Position(NamedTuple):
    """Where one stored event is: its eventId, and its place in its shard's log."""

    event_id: int
    shard: int
    offset: int


class CursorError(ValueError):
    """Not a cursor this engine wrote."""


def encode(offsets: Mapping[int, int]) -> str:
    text = ",".join(f"{shard}:{offsets[shard]}" for shard in sorted(offsets))
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def encode_one(shard: int, offset: int) -> bytes:
    """encode({shard: offset}) as bytes."""
    return base64.urlsafe_b64encode(f"{shard}:{offset}".encode()).rstrip(b"=")


class Encoder:
    """`encode`, as bytes, of one mapping that changes one shard at a time (a connection's
    positions): keeps each shard's `shard:offset` text and rewrites only the changed one.
    Call `reset` when the mapping changed other than just before an `encode` of that shard."""

    __slots__ = ("_of", "_index", "_pairs")

    def __init__(self) -> None:
        self._of: Mapping[int, int] | None = None
        self._index: dict[int, int] = {}
        self._pairs: list[str] = []

    def reset(self) -> None:
        self._of = None

    def encode(self, offsets: Mapping[int, int], changed: int) -> bytes:
        """The cursor of `offsets`, of which only shard `changed` moved since the last call."""
        i = self._index.get(changed)
        if i is None or offsets is not self._of or len(self._index) != len(offsets):
            shards = sorted(offsets)
            self._of = offsets
            self._index = {shard: k for k, shard in enumerate(shards)}
            self._pairs = [f"{shard}:{offsets[shard]}" for shard in shards]
        else:
            self._pairs[i] = f"{changed}:{offsets[changed]}"
        text = ",".join(self._pairs).encode()
        return binascii.b2a_base64(text, newline=False).translate(_URLSAFE).rstrip(b"=")


def decode(cursor: str) -> dict[int, int]:
    """The per-shard offsets of a cursor; "" is the start of every log."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise CursorError(f"cursor is longer than {MAX_CURSOR_CHARS} characters")
    if not _BASE64URL.fullmatch(cursor):
        raise CursorError("cursor is not one this relay sent")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise CursorError("cursor is not one this relay sent") from None
    offsets: dict[int, int] = {}
    for pair in text.split(",") if text else ():
        m = _PAIR.fullmatch(pair)
        if m is None:
            raise CursorError("cursor is not one this relay sent")
        shard, offset = int(m[1]), int(m[2])
        if shard > MAX_SHARD or offset > MAX_OFFSET or shard in offsets:
            raise CursorError("cursor is not one this relay sent")
        offsets[shard] = offset
    return offsets
