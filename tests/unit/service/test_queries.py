"""service.api.queries: the list query (filters, limit, cursor) and the quote query."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_core.fsm import STATUS_NAMES
from service.api.queries import (
    ListQuery,
    encode_cursor,
    parse_list_query,
    parse_quote_query,
)
from service.errors import ApiError
from tests.helpers.validation import (
    MARKETS,
    NOW,
    assert_400,
)

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
        None,
    )


def test_quote_query_quote_amount_instead_of_amount_in_quote_units() -> None:
    params = {"symbol": "SOL/USDC", "side": "buy", "quoteAmount": "100"}
    assert parse_quote_query(params, MARKETS) == ("SOL/USDC", "buy", None, 100_000_000)
    both = {**params, "amount": "1"}
    assert_400(lambda: parse_quote_query(both, MARKETS), "quoteAmount", "invalid_field")
    tiny = {**params, "quoteAmount": "0.0000001"}  # USDC has 6 decimals
    assert_400(lambda: parse_quote_query(tiny, MARKETS), "quoteAmount", "invalid_field")


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
