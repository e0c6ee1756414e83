"""Fuzz the Falcon app: hypothesis-generated bodies, headers, paths and query strings.

Properties, for every request:
- never a 5xx;
- every 4xx has the contract's error body, and nothing was stored or queued for it (the
  orders / order_events row counts and the shard streams' lengths are unchanged);
- a 201 order stored exactly one order, one event and one stream entry.

`python -m pytest tests/integration/fuzz -s` prints how many requests ran and their status
codes. The example counts keep the whole package well under a minute.
"""

from __future__ import annotations

import math
import string
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.fuzz_strategies import (
    _cursor,
    any_json,
    auth_headers,
    content_types,
    encode,
    header_text,
    list_params,
    order_bodies,
    quote_params,
    raw_bodies,
)
from tests.helpers.fuzz_target import FUZZ, KEY_A, KEY_B, Target

pytestmark = [
    pytest.mark.integration,
    # the connection pools' background threads draw jitter from `random` while examples run
    pytest.mark.filterwarnings("ignore:Do not use the `random` module"),
]

# --------------------------------------------------------------------------- the tests


def _post_order(t: Target, data: st.DataObject, keyed: bool) -> None:
    headers = dict(data.draw(auth_headers(keyed), "auth"))
    ctype = data.draw(content_types, "content type")
    headers["Content-Type"] = ctype
    if data.draw(st.integers(0, 4), "idem?") == 0:
        headers["Idempotency-Key"] = data.draw(st.sampled_from(["abc-1", "k"]) | header_text)
    if data.draw(st.integers(0, 7), "raw?") == 0:
        body = data.draw(raw_bodies, "raw body")
    else:
        body = encode(data.draw(order_bodies(), "body"))
    path = data.draw(st.sampled_from(["/orders", "/api/orders/execute"]), "path")
    t.request("POST", path, body=body, headers=headers)


@settings(FUZZ, max_examples=800)
@given(data=st.data())
def test_fuzz_post_order_open(open_target: Target, data: st.DataObject) -> None:
    _post_order(open_target, data, keyed=False)


@settings(FUZZ, max_examples=500)
@given(data=st.data())
def test_fuzz_post_order_keyed(keyed_target: Target, data: st.DataObject) -> None:
    _post_order(keyed_target, data, keyed=True)


def _reads(t: Target, data: st.DataObject, keyed: bool) -> None:
    headers = data.draw(auth_headers(keyed), "auth")
    kind = data.draw(st.sampled_from(["list", "quote", "item", "events", "delete", "other"]))
    if kind == "list":
        t.request("GET", "/orders", params=data.draw(list_params()), headers=headers)
    elif kind == "quote":
        t.request("GET", "/quote", params=data.draw(quote_params()), headers=headers)
    elif kind in ("item", "events", "delete"):
        known = st.sampled_from(t.order_ids) if t.order_ids else st.uuids().map(str)
        oid = data.draw(
            known | st.uuids().map(str) | st.text(string.printable, max_size=40), "order id"
        )
        path = f"/orders/{oid}" + ("/events" if kind == "events" else "")
        method = "DELETE" if kind == "delete" else "GET"
        t.request(method, path, headers=headers)
    else:
        method = data.draw(st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "POST", "OPTIONS"]))
        path = data.draw(
            st.sampled_from(
                [
                    "/markets",
                    "/health",
                    "/openapi.json",
                    "/orders",
                    "/sim/launch",
                    "/sim/price",
                    "/nowhere",
                    "/orders/",
                    "//orders",
                ]
            )
        )
        body = encode(data.draw(any_json)) if method in ("POST", "PUT", "PATCH") else None
        t.request(
            method,
            path,
            body=body,
            headers={**headers, "Content-Type": "application/json"},
            # falcon's test client refuses a query string starting with '?' (on the wire
            # that '?' would be the separator): the leading ones are dropped
            query_string=data.draw(
                st.text(string.printable.strip(), max_size=40).map(lambda q: q.lstrip("?"))
            ),
        )


@settings(FUZZ, max_examples=500)
@given(data=st.data())
def test_fuzz_reads_and_other_routes_open(open_target: Target, data: st.DataObject) -> None:
    if not open_target.order_ids:  # something to read, cancel and page through
        for client in ("alice", "bob"):
            r = open_target.request(
                "POST",
                "/orders",
                json={"clientId": client, "symbol": "SOL/USDC", "side": "buy", "amount": "1"},
            )
            assert r.status_code == 201
    _reads(open_target, data, keyed=False)


@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_fuzz_reads_and_other_routes_keyed(keyed_target: Target, data: st.DataObject) -> None:
    if not keyed_target.order_ids:
        for client, key in (("alice", KEY_A), ("bob", KEY_B)):
            r = keyed_target.request(
                "POST",
                "/orders",
                json={"clientId": client, "symbol": "SOL/USDC", "side": "buy", "amount": "1"},
                headers={"X-API-Key": key},
            )
            assert r.status_code == 201
    _reads(keyed_target, data, keyed=True)


def test_fuzz_amount_at_the_bigint_edge_stored_exactly_or_refused(open_target: Target) -> None:
    """2^62 base units is the largest amount; anything above never reaches PostgreSQL."""
    body = {"clientId": "edge", "symbol": "SOL/USDC", "side": "buy"}
    ok = open_target.request("POST", "/orders", json={**body, "amount": "4611686018.427387904"})
    assert ok.status_code == 201
    (stored,) = open_target.db.execute(
        "SELECT amount FROM orders WHERE id = %s", (ok.json["id"],)
    ).fetchone() or (None,)
    assert stored == 2**62
    for amount in (
        "4611686018.427387905",
        "9223372036.854775808",
        2**63,
        2**64,
        1e19,
        "1e30",
        math.ldexp(1, 70),
    ):
        r = open_target.request("POST", "/orders", json={**body, "amount": amount})
        assert r.status_code == 400 and r.json["error"]["field"] == "amount", amount
    limit = {**body, "type": "limit", "amount": "1", "limitPrice": "9223372036854.775808"}
    r = open_target.request("POST", "/orders", json=limit)
    assert r.status_code == 400 and r.json["error"]["field"] == "limitPrice"


def test_fuzz_cursor_with_non_uuid_id_400(open_target: Target) -> None:
    cursor = _cursor(datetime(2026, 1, 1, tzinfo=UTC), "not-a-uuid")
    r = open_target.client.simulate_get("/orders", params={"cursor": cursor})
    assert r.status_code == 400 and r.json["error"]["field"] == "cursor"


@settings(FUZZ, max_examples=25)
@given(amount=st.decimals(min_value="0.000000001", max_value="1000", places=9))
def test_fuzz_order_ids_are_uuids(open_target: Target, amount: Any) -> None:
    before = len(open_target.order_ids)
    body = {"clientId": "ids", "symbol": "SOL/USDC", "side": "buy", "amount": str(amount)}
    r = open_target.request("POST", "/orders", json=body)
    assert r.status_code == 201, r.text
    assert len(open_target.order_ids) == before + 1
    oid = open_target.order_ids[-1]
    assert str(uuid.UUID(oid)) == oid  # canonical text form
    assert len(set(open_target.order_ids)) == len(open_target.order_ids)
