"""An event rendered from its fields' JSON (rendered once per order state) is byte for byte
what rendering its payload dict gives: the stored payload, and the pub/sub frame."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from service.domain.cursor import Position
from service.domain.wire import (
    WS_FIELDS,
    pubsub_frame,
    stored_payload,
    update_frame,
    ws_message,
)

TEXT = st.text(max_size=12)  # any text: quotes, backslashes, newlines, non-ASCII
VALUE = st.one_of(st.none(), TEXT, st.integers(min_value=0, max_value=10**6))
# in WS_FIELDS order, as LiveOrder renders them
FIELDS = st.tuples(*[VALUE] * len(WS_FIELDS)).map(lambda vs: dict(zip(WS_FIELDS, vs, strict=True)))
EXTRA: st.SearchStrategy[dict[str, Any] | None] = st.one_of(
    st.none(),
    st.just({}),
    st.dictionaries(
        st.sampled_from(["route", "pendingTx", "lastError"]),
        st.one_of(VALUE, st.dictionaries(TEXT, VALUE, max_size=3), st.integers(2**64, 2**70)),
        max_size=3,
    ),
)


def _dumps(d: dict[str, Any]) -> str:
    try:
        return orjson.dumps(d).decode()
    except TypeError:  # past 64 bits
        return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


@given(FIELDS, EXTRA)
def test_stored_payload_is_the_merged_dict_rendered(fields: dict[str, Any], extra: Any) -> None:
    merged = dict(fields, **(extra or {}))
    text = stored_payload(orjson.dumps(fields).decode(), extra)
    assert json.loads(text) == merged
    assert text == _dumps(merged)


@given(
    FIELDS,
    st.sampled_from(["routing", "confirmed", "filled"]),
    st.integers(1, 10**6),
    st.integers(1, 10**12),
    st.text(alphabet="abc-_:.@", min_size=1, max_size=20),
)
def test_update_frame_is_pubsub_frame_of_ws_message(
    fields: dict[str, Any], status: str, seq: int, event_id: int, client: str
) -> None:
    oid, ts = "0b9e7a3e-1c2d-4f5a-8b6c-7d8e9f0a1b2c", "2026-12-08T00:00:00.000Z"
    pos = Position(event_id, 3, 41)
    expected = pubsub_frame(
        client, oid, seq, pos, ws_message(oid, status, seq, event_id, ts, fields)
    )
    assert (
        update_frame(client, oid, status, seq, pos, ts, orjson.dumps(fields).decode()) == expected
    )
