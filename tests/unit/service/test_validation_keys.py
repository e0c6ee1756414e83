"""service.api.validation: clientOrderId, the Idempotency-Key header and the request hash."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.validation import (
    BASE,
    body,
    order_400,
    parse,
)

# ---------------------------------------------------------------------------- clientOrderId


@pytest.mark.parametrize("value", ["", "a@b", "a b", "x" * 65, 7, ["a"]])
def test_client_order_id_bad_value_invalid_field(value: object) -> None:
    order_400(body(clientOrderId=value), "clientOrderId")


def test_client_order_id_given_is_idem_key() -> None:
    o = parse(body(clientOrderId="abc-1:x_y.z"))
    assert o.client_order_id == o.idem_key == "abc-1:x_y.z"


# ---------------------------------------------------------------------------- Idempotency-Key


@pytest.mark.parametrize("header", ["", "a@b", "x" * 65, "a b"])
def test_idempotency_key_bad_header_invalid_field(header: str) -> None:
    order_400(BASE, "Idempotency-Key", idempotency_key=header)


def test_idempotency_key_differs_from_client_order_id_invalid_field() -> None:
    order_400(body(clientOrderId="a"), "Idempotency-Key", idempotency_key="b")


def test_idempotency_key_header_only_is_idem_key_not_client_order_id() -> None:
    o = parse(BASE, idempotency_key="k-1")
    assert o.client_order_id is None
    assert o.idem_key == "k-1"


def test_idempotency_key_equal_to_client_order_id_accepted() -> None:
    o = parse(body(clientOrderId="k-1"), idempotency_key="k-1")
    assert o.client_order_id == o.idem_key == "k-1"


# ---------------------------------------------------------------------------- request_hash


def test_request_hash_equal_for_same_request_written_differently() -> None:
    a = parse(BASE)
    b = parse(
        {
            "slippageBps": 50,
            "amount": 1.5,
            "timeInForce": "GTC",
            "type": "market",
            "side": "buy",
            "symbol": "SOL/USDC",
            "clientId": "user123",
            "clientOrderId": "k-1",
        }
    )
    c = parse(body(amount="1.500"), idempotency_key="k-1")
    assert a.request_hash() == b.request_hash() == c.request_hash()
    assert len(a.request_hash()) == 64 and int(a.request_hash(), 16) >= 0
    gtd = {"type": "limit", "limitPrice": "150", "timeInForce": "GTD"}
    z = parse(body(**gtd, expiresAt="2026-12-01T00:00:00Z"))
    offset = parse(body(**gtd, expiresAt="2026-12-01T01:00:00+01:00"))
    assert z.request_hash() == offset.request_hash()


@pytest.mark.parametrize(
    "change",
    [
        {"clientId": "user124"},
        {"symbol": "ETH/USDT"},
        {"side": "sell"},
        {"amount": "1.500000001"},
        {"type": "sniper"},
        {"timeInForce": "IOC", "expiresAt": None},
        {"slippageBps": 51},
        {"limitPrice": "150.000001"},
        {"expiresAt": "2026-12-01T00:00:01Z", "timeInForce": "GTD"},
    ],
)
def test_request_hash_differs_when_any_field_differs(change: dict[str, Any]) -> None:
    base = body(type="limit", limitPrice="150", timeInForce="GTD", expiresAt="2026-12-01T00:00:00Z")
    assert parse(base).request_hash() != parse({**base, **change}).request_hash()


@pytest.mark.parametrize(
    "change",
    [
        {},
        {
            "type": "limit",
            "limitPrice": "150.25",
            "timeInForce": "GTD",
            "expiresAt": "2099-01-02T03:04:05.678+02:00",
        },
        {"clientId": "a.b:c@d-e_F9", "slippageBps": 0},
        {"amount": None, "quoteAmount": "12.5"},
    ],
)
def test_request_hash_is_the_stored_one(change: dict[str, Any]) -> None:
    """The hash stays what json.dumps gave (orders stored before keep matching their
    retries): sha256 of the canonical request, sorted keys, compact separators."""
    import hashlib
    import json

    o = parse({**BASE, **change})
    text = json.dumps(o.canonical(), sort_keys=True, separators=(",", ":"))
    assert o.request_hash() == hashlib.sha256(text.encode()).hexdigest()
