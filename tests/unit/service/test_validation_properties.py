"""service.api.validation: properties over arbitrary bodies (hypothesis)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from service.api.validation import (
    ORDER_FIELDS,
    NewOrder,
)
from service.domain.units import MAX_BASE_UNITS, from_base_units
from service.errors import ApiError
from tests.helpers.validation import (
    BASE,
    DECIMALS,
    LAUNCHED,
    MARKETS,
    body,
    order_400,
    parse,
)

# ---------------------------------------------------------------------------- properties

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**5000), max_value=10**5000)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from(["1.5", "-1", "1e999999999", "1e-999999999", "NaN", "GTD", "limit", "sniper"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
symbols = st.sampled_from([*DECIMALS, "sol/usdc", "XYZ/ABC"])


@settings(max_examples=300)
@given(
    key=st.text().filter(lambda k: k not in ORDER_FIELDS), value=json_values, first=st.booleans()
)
def test_property_any_unknown_key_unknown_field(key: str, value: object, first: bool) -> None:
    b = {key: value, **BASE} if first else {**BASE, key: value}
    e = order_400(b, key, "unknown_field")
    assert e.field == key


@settings(max_examples=300)
@given(
    symbol=st.sampled_from(list(DECIMALS)),
    whole=st.integers(min_value=0, max_value=10**12),
    extra=st.integers(min_value=1, max_value=40),
    data=st.data(),
)
def test_property_more_decimals_than_token_400_on_field(
    symbol: str, whole: int, extra: int, data: st.DataObject
) -> None:
    base_dec, quote_dec = DECIMALS[symbol]
    for field, decimals in (("amount", base_dec), ("limitPrice", quote_dec)):
        digits = data.draw(
            st.text("0123456789", min_size=decimals + extra - 1, max_size=decimals + extra - 1)
        )
        last = data.draw(st.sampled_from("123456789"))
        value = f"{whole}.{digits}{last}"
        b = body(symbol=symbol, type="sniper", **{field: value})
        e = order_400(b, field)
        assert "decimals" in e.message


@settings(max_examples=300)
@given(symbol=st.sampled_from(LAUNCHED), units=st.integers(min_value=1, max_value=MAX_BASE_UNITS))
def test_property_base_units_round_trip(symbol: str, units: int) -> None:
    text = from_base_units(units, DECIMALS[symbol][0])
    assert parse(body(symbol=symbol, amount=text)).amount == units


@settings(max_examples=500)
@given(
    b=json_values,
    key=st.none() | st.text(max_size=70),
    max_amount=st.none() | st.integers(min_value=0, max_value=MAX_BASE_UNITS),
)
def test_property_arbitrary_json_only_api_error(
    b: object, key: str | None, max_amount: int | None
) -> None:
    try:
        parse(b, idempotency_key=key, max_amount=max_amount)
    except ApiError as e:
        assert e.status == 400


@settings(max_examples=1000)
@given(
    b=st.dictionaries(st.sampled_from(ORDER_FIELDS), json_values),
    overlay=st.fixed_dictionaries(
        {},
        optional={
            "clientId": st.sampled_from(["user123", "a@b"]),
            "symbol": symbols,
            "side": st.sampled_from(["buy", "sell"]),
            "type": st.sampled_from(["market", "limit", "sniper"]),
            "timeInForce": st.sampled_from(["GTC", "IOC", "FOK", "GTD"]),
            "amount": st.sampled_from(["1.5", 2, 0.25, "0.00001"]),
            "limitPrice": st.sampled_from(["150.25", 1, "0.0000002"]),
            "expiresAt": st.sampled_from(["2026-12-01T00:00:00Z", "2025-01-01T00:00:00Z"]),
        },
    ),
    key=st.none() | st.sampled_from(["k-1", "bad key"]),
)
def test_property_allowed_keys_arbitrary_values_only_api_error(
    b: dict[str, object], overlay: dict[str, object], key: str | None
) -> None:
    try:
        o = parse({**b, **overlay}, idempotency_key=key)
    except ApiError as e:
        assert e.status == 400
        assert e.code in ("invalid_field", "missing_field")
        assert e.field in (*ORDER_FIELDS, "Idempotency-Key")
    else:
        assert o.amount > 0 and 0 <= o.slippage_bps <= 5000
        assert (o.limit_price is not None) or o.type != "limit"
        assert (o.expires_at is not None) == (o.time_in_force == "GTD")
        assert MARKETS[o.symbol].launched or o.type == "sniper"


new_orders = st.builds(
    NewOrder,
    client_id=st.sampled_from(["a", "b"]),
    client_order_id=st.none() | st.sampled_from(["k1", "k2"]),
    symbol=st.sampled_from(["SOL/USDC", "ETH/USDT"]),
    side=st.sampled_from(["buy", "sell"]),
    type=st.sampled_from(["market", "limit"]),
    time_in_force=st.sampled_from(["GTC", "GTD"]),
    amount=st.integers(min_value=1, max_value=3),
    limit_price=st.none() | st.integers(min_value=1, max_value=3),
    expires_at=st.none()
    | st.sampled_from([datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)]),
    slippage_bps=st.sampled_from([0, 50]),
    idempotency_header=st.none() | st.sampled_from(["k1", "k2"]),
    quote_amount=st.none() | st.integers(min_value=1, max_value=3),
)


@settings(max_examples=500)
@given(a=new_orders, b=new_orders)
def test_property_request_hash_equal_iff_requests_equal(a: NewOrder, b: NewOrder) -> None:
    same = a.canonical() == b.canonical()
    assert (a.request_hash() == b.request_hash()) == same
    fields = [f.name for f in dataclasses.fields(NewOrder)]
    fields = [f for f in fields if f not in ("client_order_id", "idempotency_header")]
    assert len(fields) == 10
    assert same == all(getattr(a, f) == getattr(b, f) for f in fields)
