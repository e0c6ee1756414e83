"""service.api.validation: one test per rule, a worked base-unit example, properties."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_core.fsm import STATUS_NAMES
from service.api.queries import (
    ListQuery,
    encode_cursor,
    parse_list_query,
    parse_quote_query,
)
from service.api.validation import (
    ORDER_FIELDS,
    NewOrder,
    parse_order,
)
from service.domain.markets import load_markets
from service.domain.units import MAX_BASE_UNITS, from_base_units
from service.errors import ApiError

ROOT = Path(__file__).resolve().parents[3]
MARKETS = load_markets(ROOT / "service" / "domain" / "markets.toml")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
DROP = object()  # marks a key to remove from the base body

BASE: dict[str, Any] = {"clientId": "user123", "symbol": "SOL/USDC", "side": "buy", "amount": "1.5"}

# token decimals the tests rely on (base, quote) per symbol
DECIMALS = {"SOL/USDC": (9, 6), "ETH/USDT": (8, 6), "BONK/SOL": (5, 9), "PUMP/SOL": (6, 9)}
LAUNCHED = ["SOL/USDC", "ETH/USDT", "BONK/SOL"]


def body(**changes: Any) -> dict[str, Any]:
    out = dict(BASE)
    for key, value in changes.items():
        if value is DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def parse(b: object, **kw: Any) -> NewOrder:
    return parse_order(b, MARKETS, now=NOW, **kw)


def error_of(fn: Callable[[], object]) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn()
    return info.value


def assert_400(
    fn: Callable[[], object], field: str | None, code: str = "invalid_field"
) -> ApiError:
    e = error_of(fn)
    assert (e.status, e.field, e.code) == (400, field, code), (e.status, e.field, e.code, e.message)
    assert e.body()["error"]["code"] == code
    return e


def order_400(b: object, field: str | None, code: str = "invalid_field", **kw: Any) -> ApiError:
    return assert_400(lambda: parse(b, **kw), field, code)


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


# ---------------------------------------------------------------------------- amount


@pytest.mark.parametrize("value", [DROP, None])
def test_amount_absent_missing_field(value: object) -> None:
    order_400(body(amount=value), "amount", "missing_field")


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "0.0",
        0,
        0.0,
        "-1",
        -1,
        -0.5,
        "abc",
        "",
        " 1.5",
        "1.5 ",
        "1_000",
        "1,5",
        "0x10",
        "Infinity",
        "NaN",
        "-inf",
        float("nan"),
        float("inf"),
        float("-inf"),
        True,
        [1],
        {"v": 1},
        pytest.param(10**5000, id="int-5000-digits"),
        "1e999999999",
        1e300,
        str(MAX_BASE_UNITS),
    ],
)
def test_amount_not_positive_finite_decimal_invalid_field(value: object) -> None:
    order_400(body(amount=value), "amount")


@pytest.mark.parametrize(
    ("symbol", "value"),
    [
        ("SOL/USDC", "1.0000000001"),  # 10 decimals, SOL has 9
        ("SOL/USDC", 1e-10),
        ("ETH/USDT", "0.000000001"),  # 9 decimals, ETH has 8
        ("BONK/SOL", "1.000001"),  # 6 decimals, BONK has 5
        ("SOL/USDC", "1e-10"),
        ("SOL/USDC", "1e-999999999"),
        # 31 significant digits: Decimal's default 28-digit context would round it to 1
        ("SOL/USDC", "1.000000000000000000000000000001"),
    ],
)
def test_amount_more_decimals_than_base_token_invalid_field(symbol: str, value: object) -> None:
    e = order_400(body(symbol=symbol, amount=value), "amount")
    assert "decimals" in e.message


def test_amount_above_max_amount_invalid_field() -> None:
    order_400(body(amount="2"), "amount", max_amount=1_999_999_999)
    assert parse(body(amount="2"), max_amount=2_000_000_000).amount == 2_000_000_000


@pytest.mark.parametrize(
    ("value", "units"),
    [
        ("1.5", 1_500_000_000),
        (1.5, 1_500_000_000),
        (2, 2_000_000_000),
        ("1.50", 1_500_000_000),
        ("0.000000001", 1),
        ("1e-9", 1),
        (1e-9, 1),
        ("+3", 3_000_000_000),
        ("1.", 1_000_000_000),
        (".5", 500_000_000),
        ("1E2", 100_000_000_000),
        ("1.0000000000000000000000000000000", 1_000_000_000),
    ],
)
def test_amount_number_or_decimal_string_converted_exactly(value: object, units: int) -> None:
    assert parse(body(amount=value)).amount == units


# ---------------------------------------------------------------------------- worked example


def test_units_worked_example_sol_9_usdc_6_decimals() -> None:
    """1.5 SOL at a limit of 150.25 USDC per SOL.

    amount is in SOL (base, 9 decimals): 1.5 * 10**9 = 1_500_000_000 lamports.
    limitPrice is USDC per ONE WHOLE SOL (quote, 6 decimals): 150.25 * 10**6 = 150_250_000.
    Quote spent at the limit: 1_500_000_000 * 150_250_000 // 10**9 = 225_375_000 (225.375 USDC).
    """
    o = parse(body(type="limit", amount="1.5", limitPrice="150.25"))
    assert o.amount == 1_500_000_000
    assert o.limit_price == 150_250_000
    assert o.amount * o.limit_price // 10**9 == 225_375_000
    # one lamport and one micro-USDC are the smallest steps
    assert parse(body(amount="0.000000001")).amount == 1
    assert parse(body(type="limit", limitPrice="0.000001")).limit_price == 1
    order_400(body(type="limit", limitPrice="150.0000001"), "limitPrice")


def test_units_worked_example_other_markets() -> None:
    assert parse(body(symbol="ETH/USDT", amount="0.00000001")).amount == 1
    bonk = parse(
        body(symbol="BONK/SOL", type="limit", amount="12345.67891", limitPrice="0.0000002")
    )
    assert (bonk.amount, bonk.limit_price) == (1_234_567_891, 200)


# ---------------------------------------------------------------------------- limitPrice


@pytest.mark.parametrize("value", [DROP, None])
def test_limit_price_absent_on_limit_missing_field(value: object) -> None:
    order_400(body(type="limit", limitPrice=value), "limitPrice", "missing_field")


@pytest.mark.parametrize("type_", [DROP, "market"])
def test_limit_price_on_market_order_invalid_field(type_: object) -> None:
    e = order_400(body(type=type_, limitPrice="150"), "limitPrice")
    assert e.message == "limitPrice is not allowed on a market order"


def test_limit_price_optional_cap_on_sniper() -> None:
    assert parse(body(type="sniper")).limit_price is None
    assert parse(body(type="sniper", limitPrice=151)).limit_price == 151_000_000


@pytest.mark.parametrize(
    ("symbol", "value"),
    [("SOL/USDC", "150.0000001"), ("ETH/USDT", 3000.1234567), ("BONK/SOL", "0.0000000001")],
)
def test_limit_price_more_decimals_than_quote_token_invalid_field(
    symbol: str, value: object
) -> None:
    order_400(body(symbol=symbol, type="limit", limitPrice=value), "limitPrice")


@pytest.mark.parametrize("value", ["0", 0, "-150", "abc", float("nan"), float("inf"), True, [1]])
def test_limit_price_not_positive_finite_invalid_field(value: object) -> None:
    order_400(body(type="limit", limitPrice=value), "limitPrice")


# ---------------------------------------------------------------------------- expiresAt


@pytest.mark.parametrize("value", [DROP, None])
def test_expires_at_absent_on_gtd_missing_field(value: object) -> None:
    order_400(
        body(type="limit", limitPrice="1", timeInForce="GTD", expiresAt=value),
        "expiresAt",
        "missing_field",
    )


@pytest.mark.parametrize("tif", [DROP, "GTC", "IOC", "FOK"])
def test_expires_at_without_gtd_invalid_field(tif: object) -> None:
    order_400(
        body(type="limit", limitPrice="1", timeInForce=tif, expiresAt="2026-12-01T00:00:00Z"),
        "expiresAt",
    )


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-01T00:00:00",  # no timezone
        "2026-12-01",
        "tomorrow",
        "",
        1_800_000_000,
        "2025-12-31T23:59:59Z",  # past
        "2026-01-01T00:00:00Z",  # == now
        "2026-01-01T01:00:00+02:00",  # 2025-12-31T23:00Z, past
        "0001-01-01T00:00:00+05:00",
    ],
)
def test_expires_at_bad_or_not_future_invalid_field(value: object) -> None:
    order_400(body(type="limit", limitPrice="1", timeInForce="GTD", expiresAt=value), "expiresAt")


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2026-12-01T00:00:00Z", datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01T00:00:00+00:00", datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01T02:30:00.5+02:30", datetime(2026, 12, 1, 0, 0, 0, 500_000, tzinfo=UTC)),
    ],
)
def test_expires_at_iso_with_timezone_accepted_as_utc(value: str, utc: datetime) -> None:
    o = parse(body(type="limit", limitPrice="1", timeInForce="GTD", expiresAt=value))
    assert o.expires_at == utc
    assert o.expires_at is not None and o.expires_at.utcoffset() == timedelta(0)


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


# ---------------------------------------------------------------------------- list query


def test_list_query_empty_defaults() -> None:
    assert parse_list_query({}) == ListQuery(client_id=None, status=None, limit=50, cursor=None)


def test_list_query_blank_values_mean_absent() -> None:
    q = parse_list_query({"clientId": "", "status": "", "limit": "", "cursor": ""})
    assert q == ListQuery(client_id=None, status=None, limit=50, cursor=None)


def test_list_query_unknown_param_unknown_field() -> None:
    assert_400(lambda: parse_list_query({"clientid": "a"}), "clientid", "unknown_field")


@pytest.mark.parametrize("status", STATUS_NAMES)
def test_list_query_status_each_name_accepted(status: str) -> None:
    assert parse_list_query({"status": status}).status == status


@pytest.mark.parametrize("status", ["PENDING", "done", "filled "])
def test_list_query_status_unknown_invalid_field(status: str) -> None:
    assert_400(lambda: parse_list_query({"status": status}), "status")


@pytest.mark.parametrize(
    "limit",
    ["0", "201", "-1", "+5", " 5", "1.5", "abc", "1_0", pytest.param("9" * 5000, id="5000-nines")],
)
def test_list_query_limit_not_1_to_200_invalid_field(limit: str) -> None:
    assert_400(lambda: parse_list_query({"limit": limit}), "limit")


@pytest.mark.parametrize("limit", ["1", "200", "050"])
def test_list_query_limit_in_range_accepted(limit: str) -> None:
    assert parse_list_query({"limit": limit}).limit == int(limit)


def test_list_query_client_id_bad_invalid_field() -> None:
    assert_400(lambda: parse_list_query({"clientId": "a b"}), "clientId")


def test_list_query_repeated_param_invalid_field() -> None:
    params: Any = {"status": ["open", "filled"]}
    assert_400(lambda: parse_list_query(params), "status")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!",
        "x" * 1000,
        "YWJj",  # "abc": no separator
        encode_cursor(NOW, "id")[:-3] + "***",
        "MjAyNi0wMS0wMVQwMDowMDowMHxpZA",  # "2026-01-01T00:00:00|id": naive time
    ],
)
def test_list_query_cursor_undecodable_invalid_field(cursor: str) -> None:
    assert_400(lambda: parse_list_query({"cursor": cursor}), "cursor")


def test_list_query_cursor_round_trip() -> None:
    order_id = str(uuid.uuid4())
    created = datetime(2026, 3, 4, 5, 6, 7, 891_011, tzinfo=timezone(timedelta(hours=-3)))
    cursor = encode_cursor(created, order_id)
    assert all(c.isalnum() or c in "-_" for c in cursor)
    q = parse_list_query({"cursor": cursor, "limit": "10", "clientId": "user123", "status": "open"})
    assert q == ListQuery(client_id="user123", status="open", limit=10, cursor=(created, order_id))
    assert q.cursor is not None and q.cursor[0].utcoffset() == timedelta(0)


@given(
    created=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    order_id=st.uuids().map(str),
)
def test_list_query_cursor_property_round_trips(created: datetime, order_id: str) -> None:
    assert parse_list_query({"cursor": encode_cursor(created, order_id)}).cursor == (
        created,
        order_id,
    )


@given(st.dictionaries(st.sampled_from(["clientId", "status", "limit", "cursor"]), st.text()))
def test_list_query_property_arbitrary_text_only_api_error(params: dict[str, str]) -> None:
    try:
        parse_list_query(params)
    except ApiError as e:
        assert e.status == 400 and e.field in params


# ---------------------------------------------------------------------------- quote query


def test_quote_query_valid_returns_symbol_side_base_units() -> None:
    assert parse_quote_query({"symbol": "SOL/USDC", "side": "sell", "amount": "1.5"}, MARKETS) == (
        "SOL/USDC",
        "sell",
        1_500_000_000,
    )


@pytest.mark.parametrize("missing", ["symbol", "side", "amount"])
def test_quote_query_param_absent_missing_field(missing: str) -> None:
    params = {"symbol": "SOL/USDC", "side": "buy", "amount": "1"}
    del params[missing]
    assert_400(lambda: parse_quote_query(params, MARKETS), missing, "missing_field")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"foo": "1"}, "foo", "unknown_field"),
        ({"symbol": "sol/usdc"}, "symbol", "invalid_field"),
        ({"side": "BUY"}, "side", "invalid_field"),
        ({"amount": "1.0000000001"}, "amount", "invalid_field"),
        ({"amount": "0"}, "amount", "invalid_field"),
        ({"amount": "NaN"}, "amount", "invalid_field"),
    ],
)
def test_quote_query_bad_param_400(change: dict[str, str], field: str, code: str) -> None:
    params = {"symbol": "SOL/USDC", "side": "buy", "amount": "1", **change}
    assert_400(lambda: parse_quote_query(params, MARKETS), field, code)


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
