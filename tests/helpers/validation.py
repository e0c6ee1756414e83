"""The validation tests' markets, clock and base body, and their 400 assertions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.api.validation import (
    NewOrder,
    parse_order,
)
from service.domain.markets import load_markets
from service.errors import ApiError

ROOT = Path(__file__).resolve().parents[2]
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
