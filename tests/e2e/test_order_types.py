"""Limit (IOC, FOK, GTC, GTD), sniper, internal matching and cancel, through the real
processes. Prices: SOL/USDC starts near 150 (raydium) and 154.4 (meteora); the random walk
is off (SIM_TICK_MS=0), so only orders and POST /sim/price move the pools."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from psycopg import sql
from psycopg.conninfo import make_conninfo

from engine_core.fsm import TERMINAL
from tests.conftest import BASE_DSN, REDIS_URL
from tests.helpers.engine import Engine, running_engine
from tests.helpers.waiting import wait_order

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def eng(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    prefix = f"test:{uuid.uuid4().hex[:8]}"
    with psycopg.connect(BASE_DSN, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with running_engine(
            make_conninfo(BASE_DSN, dbname=name), prefix, tmp_path_factory.mktemp("engine")
        ) as e:
            yield e
    finally:
        with psycopg.connect(BASE_DSN, autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        r = redis.Redis.from_url(REDIS_URL)
        for key in r.scan_iter(match=f"{prefix}:*"):
            r.unlink(key)


def client() -> str:
    return f"c-{uuid.uuid4().hex[:8]}"


def submit(eng: Engine, **body: Any) -> dict[str, Any]:
    status, order, _ = eng.request("POST", "/orders", {"clientId": client(), **body})
    assert status == 201, order
    return order


def statuses(eng: Engine, oid: str) -> list[str]:
    _, body, _ = eng.request("GET", f"/orders/{oid}/events")
    return [e["status"] for e in body["events"]]


def set_price(eng: Engine, symbol: str, price: str) -> dict[str, Any]:
    status, market, _ = eng.request("POST", "/sim/price", {"symbol": symbol, "price": price})
    assert status == 200, market
    return market


EXEC = ["routing", "building", "submitted", "confirmed"]


def test_limit_ioc_within_price_fills_and_beyond_expires(eng: Engine) -> None:
    set_price(eng, "SOL/USDC", "150")
    o = submit(
        eng,
        symbol="SOL/USDC",
        side="buy",
        amount="1",
        type="limit",
        limitPrice="170",
        timeInForce="IOC",
    )
    done = wait_order(eng, o["id"], TERMINAL)
    assert done["status"] == "filled" and Decimal(done["avgPrice"]) <= 170
    assert statuses(eng, o["id"]) == ["pending", *EXEC, "filled"]
    o = submit(
        eng,
        symbol="SOL/USDC",
        side="buy",
        amount="1",
        type="limit",
        limitPrice="120",
        timeInForce="IOC",
    )
    done = wait_order(eng, o["id"], TERMINAL)
    assert (done["status"], done["filled"]) == ("expired", "0")
    assert statuses(eng, o["id"]) == ["pending", "expired"]


def test_limit_ioc_larger_than_liquidity_at_price_partly_fills_rest_expires(eng: Engine) -> None:
    set_price(eng, "SOL/USDC", "150")
    o = submit(
        eng,
        symbol="SOL/USDC",
        side="buy",
        amount="50000",
        type="limit",
        limitPrice="152",
        timeInForce="IOC",
    )
    done = wait_order(eng, o["id"], TERMINAL)
    assert done["status"] == "expired"
    assert 0 < Decimal(done["filled"]) < 50000
    assert Decimal(done["avgPrice"]) <= 152
    assert statuses(eng, o["id"]) == ["pending", *EXEC, "expired"]


def test_limit_fok_all_or_nothing(eng: Engine) -> None:
    set_price(eng, "SOL/USDC", "150")
    o = submit(
        eng,
        symbol="SOL/USDC",
        side="sell",
        amount="50000",
        type="limit",
        limitPrice="148",
        timeInForce="FOK",
    )
    done = wait_order(eng, o["id"], TERMINAL)
    assert (done["status"], done["filled"], done["fills"]) == ("expired", "0", [])
    o = submit(
        eng,
        symbol="SOL/USDC",
        side="sell",
        amount="2",
        type="limit",
        limitPrice="140",
        timeInForce="FOK",
    )
    done = wait_order(eng, o["id"], TERMINAL)
    assert done["status"] == "filled" and Decimal(done["avgPrice"]) >= 140


def test_limit_gtc_rests_then_fills_partly_on_two_moves_then_cancel(eng: Engine) -> None:
    set_price(eng, "SOL/USDC", "150")
    o = submit(
        eng,
        symbol="SOL/USDC",
        side="buy",
        amount="20000",
        type="limit",
        limitPrice="146",
        timeInForce="GTC",
    )
    assert wait_order(eng, o["id"], {"open"})["filled"] == "0"
    set_price(eng, "SOL/USDC", "145.5")
    first = wait_order(eng, o["id"], {"partially_filled", "filled"})
    assert first["status"] == "partially_filled"
    f1 = Decimal(first["filled"])
    assert 0 < f1 < 20000 and Decimal(first["avgPrice"]) <= 146
    set_price(eng, "SOL/USDC", "144")
    deadline = time.monotonic() + 20
    while True:
        _, second, _ = eng.request("GET", f"/orders/{o['id']}")
        if Decimal(second["filled"]) > f1 and second["status"] != "routing":
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    f2 = Decimal(second["filled"])
    assert Decimal(second["remaining"]) == 20000 - f2
    assert Decimal(second["avgPrice"]) <= 146
    status, canceled, _ = eng.request("DELETE", f"/orders/{o['id']}")
    assert status == 200, canceled
    assert canceled["status"] == "canceled" and Decimal(canceled["filled"]) == f2
    ev = statuses(eng, o["id"])
    assert ev[:2] == ["pending", "open"] and ev[-1] == "canceled"
    assert ev.count("confirmed") >= 2
    status, again, _ = eng.request("DELETE", f"/orders/{o['id']}")
    assert status == 409 and again["error"]["code"] == "order_not_cancelable"


def test_limit_gtd_expires_at_expires_at(eng: Engine) -> None:
    expires = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    o = submit(
        eng,
        symbol="ETH/USDT",
        side="buy",
        amount="1",
        type="limit",
        limitPrice="1000",
        timeInForce="GTD",
        expiresAt=expires,
    )
    wait_order(eng, o["id"], {"open"})
    done = wait_order(eng, o["id"], TERMINAL, timeout=10)
    assert done["status"] == "expired"
    assert statuses(eng, o["id"]) == ["pending", "open", "expired"]
    assert datetime.fromisoformat(
        done["updatedAt"].replace("Z", "+00:00")
    ) >= datetime.fromisoformat(expires)


def test_sniper_waits_for_launch_then_fires_in_arrival_order(eng: Engine) -> None:
    first = submit(
        eng, symbol="PUMP/SOL", side="buy", amount="1000", type="sniper", slippageBps=1000
    )
    capped = submit(
        eng,
        symbol="PUMP/SOL",
        side="buy",
        amount="1000",
        type="sniper",
        limitPrice="0.0005",
        timeInForce="IOC",
    )
    second = submit(
        eng, symbol="PUMP/SOL", side="buy", amount="1000", type="sniper", slippageBps=1000
    )
    for o in (first, capped, second):
        assert wait_order(eng, o["id"], {"open"})["status"] == "open"
    status, market, _ = eng.request(
        "POST",
        "/sim/launch",
        {
            "symbol": "PUMP/SOL",
            "venue": "raydium",
            "baseReserve": "1000000",
            "quoteReserve": "1000",
        },
    )
    assert status == 200, market
    assert market["launched"] is True
    a = wait_order(eng, first["id"], TERMINAL)
    b = wait_order(eng, second["id"], TERMINAL)
    c = wait_order(eng, capped["id"], TERMINAL)
    assert a["status"] == b["status"] == "filled"
    assert Decimal(a["avgPrice"]) < Decimal(b["avgPrice"])  # the first one bought first
    assert c["status"] == "expired" and c["filled"] == "0"  # its cap is below the launch
    assert statuses(eng, a["id"]) == ["pending", "open", *EXEC, "filled"]
    # After the launch a sniper is an order on an open market: it fires at once.
    late = submit(eng, symbol="PUMP/SOL", side="buy", amount="10", type="sniper", slippageBps=500)
    assert wait_order(eng, late["id"], TERMINAL)["status"] == "filled"
    assert statuses(eng, late["id"]) == ["pending", *EXEC, "filled"]


def test_internal_match_between_two_clients_at_resting_price(eng: Engine) -> None:
    set_price(eng, "ETH/USDT", "3000")
    maker = submit(
        eng,
        symbol="ETH/USDT",
        side="sell",
        amount="0.5",
        type="limit",
        limitPrice="3300",
        timeInForce="GTC",
    )
    wait_order(eng, maker["id"], {"open"})
    taker = submit(
        eng,
        symbol="ETH/USDT",
        side="buy",
        amount="0.5",
        type="limit",
        limitPrice="3300",
        timeInForce="IOC",
    )
    t = wait_order(eng, taker["id"], TERMINAL)
    m = wait_order(eng, maker["id"], TERMINAL)
    assert t["status"] == m["status"] == "filled"
    assert [f["venue"] for f in t["fills"]] == ["internal"]
    assert [f["venue"] for f in m["fills"]] == ["internal"]
    assert t["avgPrice"] == m["avgPrice"] and Decimal(t["avgPrice"]) == 3300
    assert t["fills"][0]["fee"] == "0"
    assert statuses(eng, maker["id"]) == ["pending", "open", "filled"]


def test_cancel_unknown_404_and_market_order_409(eng: Engine) -> None:
    status, body, _ = eng.request("DELETE", f"/orders/{uuid.uuid4()}")
    assert status == 404
    o = submit(eng, symbol="SOL/USDC", side="buy", amount="0.1")
    wait_order(eng, o["id"], TERMINAL)
    status, body, _ = eng.request("DELETE", f"/orders/{o['id']}")
    assert status == 409


def test_markets_show_reference_and_both_venues(eng: Engine, tmp_path: Path) -> None:
    set_price(eng, "BONK/SOL", "0.00000021")
    _, body, _ = eng.request("GET", "/markets")
    bonk = next(m for m in body["markets"] if m["symbol"] == "BONK/SOL")
    assert Decimal(bonk["referencePrice"]) == Decimal("0.00000021")
    for v in bonk["venues"]:
        assert abs(Decimal(v["price"]) / Decimal("0.00000021") - 1) < Decimal("0.01")


def test_quote_shows_the_internal_leg_before_the_venues(eng: Engine) -> None:
    set_price(eng, "ETH/USDT", "3000")
    maker = submit(
        eng,
        symbol="ETH/USDT",
        side="sell",
        amount="0.1",
        type="limit",
        limitPrice="3005",
        timeInForce="GTC",
    )
    wait_order(eng, maker["id"], {"open"})
    status, quote, _ = eng.request("GET", "/quote?symbol=ETH/USDT&side=buy&amount=0.3")
    assert status == 200, quote
    assert quote["legs"][0]["venue"] == "internal"
    assert quote["legs"][0]["amountOut"] == "0.1" and quote["legs"][0]["fee"] == "0"
    assert quote["amount"] == "0.3" and len(quote["legs"]) >= 2
    status, _, _ = eng.request("DELETE", f"/orders/{maker['id']}")
    assert status == 200
