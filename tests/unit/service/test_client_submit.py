"""The CLI client's `submit` through `order-engine`'s real parser against the fake API
(tests/unit/service/conftest.py): flags -> the order body, answers -> output and exit codes."""

from __future__ import annotations

import json

import pytest

from service.runtime.cli import main
from tests.helpers.client import OID, order, run
from tests.helpers.engine import free_port

# --------------------------------------------------------------------------- submit


def test_submit_flags_map_one_to_one_onto_the_order_body(api, capsys, monkeypatch):
    monkeypatch.setenv("API_KEY", "k-123")
    api.answer("POST", "/orders", 201, order(type="limit", limitPrice="150.25"))
    code, out, err = run(
        [
            "submit",
            "--client-id", "c1",
            "--symbol", "SOL/USDC",
            "--side", "buy",
            "--amount", "1.5",
            "--type", "limit",
            "--limit-price", "150.25",
            "--tif", "GTD",
            "--expires-at", "2026-12-01T00:00:00Z",
            "--slippage-bps", "75",
            "--client-order-id", "abc-1",
            "--idempotency-key", "idem-9",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    (req,) = api.seen
    assert (req.method, req.path) == ("POST", "/orders")
    assert req.body == {
        "clientId": "c1",
        "symbol": "SOL/USDC",
        "side": "buy",
        "amount": "1.5",
        "type": "limit",
        "limitPrice": "150.25",
        "timeInForce": "GTD",
        "expiresAt": "2026-12-01T00:00:00Z",
        "slippageBps": 75,
        "clientOrderId": "abc-1",
    }
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-api-key"] == "k-123"
    assert req.headers["idempotency-key"] == "idem-9"
    assert f"accepted: {OID}" in out and "limit buy 1.5 SOL/USDC @ 150.25" in out


def test_submit_sends_only_the_flags_given_and_can_use_the_brief_path(api, capsys):
    api.answer("POST", "/api/orders/execute", 201, order())
    code, out, _ = run(
        ["submit", "--client-id", "c1", "--symbol", "SOL/USDC", "--side", "sell",
         "--amount", "2", "--execute-path", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0
    (req,) = api.seen
    assert req.path == "/api/orders/execute"
    assert req.body == {"clientId": "c1", "symbol": "SOL/USDC", "side": "sell", "amount": "2"}
    assert "x-api-key" not in req.headers
    assert json.loads(out)["id"] == OID


def test_submit_quote_amount_instead_of_amount(api, capsys):
    api.answer("POST", "/orders", 201, order())
    code, _, _ = run(
        ["submit", "--client-id", "c1", "--symbol", "SOL/USDC", "--side", "buy",
         "--quote-amount", "100", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0
    (req,) = api.seen
    assert req.body == {"clientId": "c1", "symbol": "SOL/USDC", "side": "buy", "quoteAmount": "100"}


def test_submit_idempotent_retry_says_so(api, capsys):
    api.answer("POST", "/orders", 200, order())
    code, out, _ = run(
        ["submit", "--client-id", "c1", "--symbol", "SOL/USDC", "--side", "buy", "--amount", "1"],
        capsys,
    )
    assert code == 0 and "already accepted" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["submit", "--client-id", "c1", "--symbol", "SOL/USDC", "--side", "buy"],  # no amount
        ["submit", "--client-id", "c1", "--symbol", "S", "--side", "BUY", "--amount", "1"],
        ["submit", "--client-id", "c1", "--symbol", "S", "--side", "buy", "--amount", "1",
         "--tif", "day"],
        ["submit", "--client-id", "c1", "--symbol", "S", "--side", "buy", "--amount", "1",
         "--slippage-bps", "ten"],
        ["watch"],
        ["watch", "--order", OID, "--client-id", "c1"],
        ["orders", "--status", "done"],
        ["quote", "--symbol", "SOL/USDC", "--side", "buy"],
    ],
)  # fmt: skip
def test_bad_usage_exits_2_before_any_request(api, capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert api.seen == []
    assert "usage:" in capsys.readouterr().err


def test_api_refusal_prints_the_contract_error_and_exits_1(api, capsys):
    api.answer(
        "POST",
        "/orders",
        400,
        {
            "error": {
                "code": "invalid_value",
                "message": "amount must be positive",
                "field": "amount",
            }
        },
    )
    code, out, err = run(
        ["submit", "--client-id", "c1", "--symbol", "SOL/USDC", "--side", "buy", "--amount", "-1"],
        capsys,
    )
    assert code == 1 and out == ""
    assert "400 invalid_value: amount must be positive (field: amount)" in err


def test_rate_limited_shows_retry_after_and_exits_1(api, capsys):
    api.answer(
        "GET", "/markets", 429, {"error": {"code": "rate_limited", "message": "slow down"}},
        {"Retry-After": "3"},
    )  # fmt: skip
    code, _, err = run(["markets"], capsys)
    assert code == 1 and "429 rate_limited: slow down; retry after 3 s" in err


def test_server_error_exits_3(api, capsys):
    api.answer(
        "GET", "/markets", 503, {"error": {"code": "unavailable", "message": "postgres is down"}}
    )
    code, _, err = run(["markets"], capsys)
    assert code == 3 and "503 unavailable: postgres is down" in err


def test_nothing_listening_exits_3_naming_the_url(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(["markets", "--url", url], capsys)
    assert code == 3 and f"cannot connect to {url}" in err
