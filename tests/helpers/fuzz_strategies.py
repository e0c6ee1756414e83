"""The fuzz tests' hypothesis strategies: order bodies, raw bodies, content types, list and
quote queries, cursors and auth headers."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from tests.helpers.fuzz_target import KEY_A, KEY_B

SYMBOLS = ["SOL/USDC", "ETH/USDT", "BONK/SOL", "PUMP/SOL"]
LATIN1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
header_text = st.text(LATIN1, max_size=80)
any_text = st.text(max_size=40)

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | any_text
)
any_json = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(any_text, c, max_size=4),
    max_leaves=8,
)

decimal_strings = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.decimals(min_value=0, max_value=10**6, places=9).map(str),
    st.sampled_from(
        ["1.5", "0.000000001", "1e3", "1E-9", "+2", ".5", "5.", "1e19", "1e-400", "9" * 40]
    ),
    st.sampled_from(["0", "-1", "-0", "NaN", "Infinity", "1_000", " 1", "1 ", "0x10", "١"]),
    st.sampled_from(["4611686018.427387904", "4611686018.427387905", "9223372036.854775808"]),
)
amounts = st.one_of(
    decimal_strings,
    st.integers(min_value=-10, max_value=2**64),
    st.floats(),
    json_leaf,
)


def _future(draw_offset: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=draw_offset)).isoformat()


expires = st.one_of(
    st.floats(min_value=-1e6, max_value=1e8).map(_future),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["2030-01-01T00:00:00Z", "2030-01-01", "9999-12-31T23:59:59-23:59"]),
    any_text,
    json_leaf,
)
ids = st.from_regex(r"[A-Za-z0-9_.:@-]{1,64}", fullmatch=True)
order_fields: dict[str, st.SearchStrategy[Any]] = {
    "clientId": st.sampled_from(["alice", "bob", "carol"]) | ids | json_leaf,
    "symbol": st.sampled_from([*SYMBOLS, "DOGE/USDC", "sol/usdc", ""]) | json_leaf,
    "side": st.sampled_from(["buy", "sell", "BUY", "hold"]) | json_leaf,
    "amount": amounts,
    "quoteAmount": amounts,
    "type": st.sampled_from(["market", "limit", "sniper", "stop"]) | json_leaf,
    "limitPrice": amounts,
    "timeInForce": st.sampled_from(["GTC", "IOC", "FOK", "GTD", "gtc"]) | json_leaf,
    "expiresAt": expires,
    "slippageBps": st.integers(min_value=-5, max_value=6000) | json_leaf,
    "clientOrderId": st.sampled_from(["abc-1", "abc-2"]) | ids | json_leaf,
}


@st.composite
def order_bodies(draw: st.DrawFn) -> Any:
    """Mostly order-shaped objects (so validation goes deep), sometimes anything."""
    if draw(st.integers(0, 9)) == 0:
        return draw(any_json)
    body: dict[str, Any] = {
        "clientId": draw(st.sampled_from(["alice", "bob"])),
        "symbol": draw(st.sampled_from(SYMBOLS)),
        "side": draw(st.sampled_from(["buy", "sell"])),
        "amount": draw(st.sampled_from(["1.5", "0.25", 3, 1.25])),
    }
    n = draw(st.integers(0, 4))
    for name in draw(st.lists(st.sampled_from(sorted(order_fields)), max_size=n, unique=True)):
        if draw(st.booleans()) and name in body:
            del body[name]
        else:
            body[name] = draw(order_fields[name])
    if draw(st.integers(0, 14)) == 0:
        body[draw(any_text)] = draw(json_leaf)
    return body


def encode(body: Any) -> bytes:
    # json (not orjson) so huge integers and NaN/Infinity literals go out as written
    return json.dumps(body, allow_nan=True).encode()


wrong_content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "",
    ]
) | header_text.filter(lambda s: s.strip() == s)
content_types = st.integers(0, 9).flatmap(
    lambda i: (
        st.sampled_from(["application/json", "application/json; charset=utf-8"])
        if i < 8
        else wrong_content_types
    )
)

raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"", b"{", b"null", b"[]", b'"x"', b"1e999", b"{}" * 3, b"\xff\xfe{}"]),
    st.integers(16_000, 20_000).map(lambda n: b'{"clientId": "' + b"a" * n + b'"}'),
)


def _cursor(ts: datetime, order_id: str) -> str:
    text = f"{ts.isoformat()}|{order_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


cursors = st.one_of(
    any_text,
    st.text(string.ascii_letters + string.digits + "-_", max_size=300),
    st.builds(lambda b: base64.urlsafe_b64encode(b).decode(), st.binary(max_size=80)),
    # well-formed cursors over UUIDs; a non-UUID id is test_fuzz_cursor_with_non_uuid_id_400
    st.builds(
        _cursor,
        st.datetimes(timezones=st.just(UTC)),
        st.uuids().map(str),
    ),
)
query_values = st.one_of(
    any_text,
    st.sampled_from(["", "alice", "bob", "pending", "filled", "0", "1", "200", "201", "-1"]),
    st.lists(st.sampled_from(["alice", "1", "buy"]), min_size=2, max_size=3),
)


@st.composite
def list_params(draw: st.DrawFn) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if draw(st.booleans()):
        params["clientId"] = draw(st.sampled_from(["alice", "bob", "carol"]) | query_values)
    if draw(st.booleans()):
        params["status"] = draw(st.sampled_from(["pending", "open", "filled", "nope"]))
    if draw(st.booleans()):
        params["limit"] = draw(st.integers(-5, 300).map(str) | query_values)
    if draw(st.booleans()):
        params["cursor"] = draw(cursors)
    if draw(st.integers(0, 5)) == 0:
        params[draw(st.text(string.ascii_letters, min_size=1, max_size=10))] = draw(query_values)
    return params


@st.composite
def quote_params(draw: st.DrawFn) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        params["symbol"] = draw(st.sampled_from([*SYMBOLS, "DOGE/USDC"]) | query_values)
    if draw(st.integers(0, 9)):
        params["side"] = draw(st.sampled_from(["buy", "sell"]) | query_values)
    if draw(st.integers(0, 9)):
        params["amount"] = draw(
            st.sampled_from(["1", "0.5", "100000000", "1e30", "0"]) | decimal_strings
        )
    if draw(st.integers(0, 5)) == 0:
        params[draw(st.text(string.ascii_letters, min_size=1, max_size=10))] = draw(query_values)
    return params


def auth_headers(keyed: bool) -> st.SearchStrategy[dict[str, str]]:
    if not keyed:
        return st.just({})
    good = st.sampled_from(
        [
            {"Authorization": f"Bearer {KEY_A}"},
            {"X-API-Key": KEY_A},
            {"X-API-Key": KEY_B},
            {"Authorization": f"Bearer {KEY_B}"},
        ]
    )
    bad = st.one_of(
        st.just({}),
        st.builds(lambda t: {"Authorization": t}, header_text),
        st.builds(lambda t: {"X-API-Key": t}, header_text.filter(str.strip)),
        st.builds(lambda t: {"Authorization": f"Bearer {t}"}, header_text),
        st.just({"Authorization": f"Basic {KEY_A}"}),
        st.just({"X-API-Key": KEY_A + "x"}),
    )
    return st.integers(0, 3).flatmap(lambda i: good if i else bad)
