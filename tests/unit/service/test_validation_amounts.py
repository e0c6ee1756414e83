"""service.api.validation: amount (with a worked base-unit example), limitPrice, expiresAt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain.units import MAX_BASE_UNITS
from tests.helpers.validation import (
    DROP,
    body,
    order_400,
    parse,
)

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
