"""service.api.validation: the body as a whole, clientId, symbol, side, type, timeInForce and
slippageBps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.api.validation import (
    NewOrder,
)
from tests.helpers.validation import (
    BASE,
    DECIMALS,
    DROP,
    LAUNCHED,
    MARKETS,
    body,
    order_400,
    parse,
)

# ---------------------------------------------------------------------------- body


def test_markets_fixture_has_the_symbols_the_tests_rely_on() -> None:
    for symbol, (base, quote) in DECIMALS.items():
        m = MARKETS[symbol]
        assert (m.base.decimals, m.quote.decimals) == (base, quote)
        assert m.launched == (symbol in LAUNCHED)


@pytest.mark.parametrize("b", [None, [], [BASE], "x", 1, 1.5, True])
def test_body_not_an_object_invalid_body(b: object) -> None:
    order_400(b, None, "invalid_body")


def test_body_unknown_key_unknown_field() -> None:
    e = order_400(body(clientID="x"), "clientID", "unknown_field")
    assert "clientID" in e.message


def test_body_minimal_gets_defaults() -> None:
    o = parse(BASE)
    assert o == NewOrder(
        client_id="user123",
        client_order_id=None,
        symbol="SOL/USDC",
        side="buy",
        type="market",
        time_in_force="GTC",
        amount=1_500_000_000,
        limit_price=None,
        expires_at=None,
        slippage_bps=50,
    )
    assert o.idem_key is None


def test_body_null_optional_fields_mean_absent() -> None:
    nulls = {
        k: None
        for k in ("type", "limitPrice", "timeInForce", "expiresAt", "slippageBps", "clientOrderId")
    }
    assert parse(body(**nulls)) == parse(BASE)


def test_body_full_example_from_contract_accepted() -> None:
    o = parse(
        {
            "clientId": "user123",
            "symbol": "SOL/USDC",
            "side": "sell",
            "amount": "1.5",
            "type": "limit",
            "limitPrice": "150.25",
            "timeInForce": "GTD",
            "expiresAt": "2026-12-01T00:00:00Z",
            "slippageBps": 50,
            "clientOrderId": "abc-1",
        }
    )
    assert (o.side, o.type, o.time_in_force, o.client_order_id) == ("sell", "limit", "GTD", "abc-1")
    assert o.limit_price == 150_250_000
    assert o.expires_at == datetime(2026, 12, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------- clientId


@pytest.mark.parametrize("value", [DROP, None])
def test_client_id_absent_missing_field(value: object) -> None:
    order_400(body(clientId=value), "clientId", "missing_field")


@pytest.mark.parametrize("value", ["", "a b", "x" * 65, "é", "a/b", "a\n", 123, ["a"]])
def test_client_id_bad_value_invalid_field(value: object) -> None:
    order_400(body(clientId=value), "clientId")


@pytest.mark.parametrize("value", ["a", "u@example.com", "A-z_0.9:x", "x" * 64])
def test_client_id_allowed_chars_accepted(value: str) -> None:
    assert parse(body(clientId=value)).client_id == value


# ---------------------------------------------------------------------------- symbol


@pytest.mark.parametrize("value", [DROP, None])
def test_symbol_absent_missing_field(value: object) -> None:
    order_400(body(symbol=value), "symbol", "missing_field")


@pytest.mark.parametrize(
    "value", ["SOL/XYZ", "sol/usdc", "SOL-USDC", "", 1, {"a": 1}, ["SOL/USDC"]]
)
def test_symbol_unknown_or_wrong_case_invalid_field(value: object) -> None:
    e = order_400(body(symbol=value), "symbol")
    if isinstance(value, str):
        assert e.message.startswith("unknown symbol")


def test_symbol_not_launched_non_sniper_rejected_on_symbol() -> None:
    for t in (DROP, "market", "limit"):
        e = order_400(
            body(symbol="PUMP/SOL", type=t, limitPrice="0.001" if t == "limit" else DROP), "symbol"
        )
        assert "not launched" in e.message and "sniper" in e.message


def test_symbol_not_launched_sniper_accepted() -> None:
    o = parse(body(symbol="PUMP/SOL", type="sniper", amount="1000"))
    assert (o.symbol, o.type, o.amount, o.limit_price) == (
        "PUMP/SOL",
        "sniper",
        1_000_000_000,
        None,
    )


# ---------------------------------------------------------------------------- side, type, tif


@pytest.mark.parametrize("value", [DROP, None])
def test_side_absent_missing_field(value: object) -> None:
    order_400(body(side=value), "side", "missing_field")


@pytest.mark.parametrize("value", ["BUY", "Sell", "", "long", 1, True])
def test_side_not_exact_enum_invalid_field(value: object) -> None:
    order_400(body(side=value), "side")


@pytest.mark.parametrize("value", ["LIMIT", "Market", "stop", "", 0, ["market"]])
def test_type_not_in_enum_invalid_field(value: object) -> None:
    order_400(body(type=value), "type")


@pytest.mark.parametrize("value", ["gtc", "DAY", "", 1])
def test_time_in_force_bad_value_invalid_field_even_on_market(value: object) -> None:
    order_400(body(type="market", timeInForce=value), "timeInForce")


@pytest.mark.parametrize("tif", ["GTC", "IOC", "FOK"])
def test_time_in_force_each_value_accepted(tif: str) -> None:
    o = parse(body(type="limit", limitPrice="150", timeInForce=tif))
    assert o.time_in_force == tif


# ---------------------------------------------------------------------------- slippageBps


@pytest.mark.parametrize("value", [True, False, 50.0, "50", -1, 5001, 10**30, [50]])
def test_slippage_bps_not_integer_in_range_invalid_field(value: object) -> None:
    order_400(body(slippageBps=value), "slippageBps")


@pytest.mark.parametrize("value", [0, 1, 5000])
def test_slippage_bps_bounds_accepted(value: int) -> None:
    assert parse(body(slippageBps=value)).slippage_bps == value
