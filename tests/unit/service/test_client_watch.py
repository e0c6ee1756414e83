"""The CLI client's `watch` against the fake API and the fake relay (a `websockets` server
playing scripts; tests/unit/service/conftest.py): events shown, resumes, refusals, the URL."""

from __future__ import annotations

import io
import json
import urllib.parse

from service.client import http as client_http
from service.client import watch
from tests.helpers.client import OID, SIX, event, run
from tests.helpers.engine import free_port

# --------------------------------------------------------------------------- watch


def test_watch_order_prints_each_event_and_ends_when_final(api, relay, capsys, monkeypatch):
    monkeypatch.setenv("API_KEY", "k 1")
    relay.scripts = [([event(i + 1, s) for i, s in enumerate(SIX)], False)]
    code, out, err = run(
        ["watch", "--order", OID, "--ws-url", relay.url, "--timeout", "10"], capsys
    )
    assert code == 0, err
    (path,) = relay.paths
    parts = urllib.parse.urlsplit(path)
    assert parts.path == "/api/orders/execute"
    assert urllib.parse.parse_qs(parts.query) == {"orderId": [OID], "apiKey": ["k 1"]}
    lines = out.splitlines()
    assert lines[0] == f"watching order {OID}"
    assert lines[1].split() == [c.upper() for c in watch.EVENT_COLUMNS]
    assert [line.split()[1] for line in lines[2:]] == SIX
    assert "150.1" in lines[-1] and "3xYabcdefg" in lines[-1]


def test_watch_resumes_after_a_dropped_socket_from_the_last_seq(api, relay, capsys):
    relay.scripts = [
        ([event(i + 1, s) for i, s in enumerate(SIX[:3])], True),
        ([event(3, "building")] + [event(i + 4, s) for i, s in enumerate(SIX[3:])], False),
    ]
    code, out, err = run(
        ["watch", "--order", OID, "--ws-url", relay.url, "--timeout", "15", "--json"], capsys
    )
    assert code == 0, err
    assert len(relay.paths) == 2 and "fromSeq=3" in relay.paths[1]
    seqs = [json.loads(line)["seq"] for line in out.splitlines()]
    assert seqs == [1, 2, 3, 4, 5, 6]  # the replayed 3 is not shown twice


def test_watch_client_keeps_one_row_per_order_until_timeout(api, relay, capsys):
    other = "4b0c1e8e-0000-4000-8000-000000000002"
    relay.scripts = [
        ([event(1, "pending"), event(1, "pending", other), event(2, "routing")], False)
    ]
    view_out = io.StringIO()
    view = watch.WatchView(watch.Target(client_id="c1"), view_out)
    code, out, err = run(
        ["watch", "--client-id", "c1", "--ws-url", relay.url, "--timeout", "1"], capsys
    )
    assert code == 0, err
    assert relay.paths[0] == "/ws?clientId=c1"
    assert len(out.splitlines()) == 2 + 3
    # The table a terminal shows: one row per order, at its latest status.
    for raw in [event(1, "pending"), event(1, "pending", other), event(2, "routing")]:
        view.add(json.loads(raw)["payload"])
    rows = view.render().splitlines()[2:]
    assert len(rows) == 2 and "routing" in rows[0] and "pending" in rows[1]


def test_watch_refused_by_the_relay_exits_1_with_its_message(api, relay, capsys):
    relay.reject = 404
    code, _, err = run(["watch", "--order", OID, "--ws-url", relay.url], capsys)
    assert code == 1 and "404 not_found: no such order" in err, err


def test_watch_with_nothing_listening_exits_3(api, capsys, monkeypatch):
    monkeypatch.setattr(watch, "RECONNECTS", 0)
    url = f"ws://127.0.0.1:{free_port()}"
    code, _, err = run(["watch", "--order", OID, "--ws-url", url], capsys)
    assert code == 3 and f"cannot connect to {url}" in err


def test_ws_url_comes_from_the_api_config_unless_given(api, monkeypatch):
    args = type("A", (), {"ws_url": None})()
    engine = client_http.Api(api.url)
    api.answer("GET", "/config.json", 200, {"wsPort": 3001, "sameOrigin": False})
    assert watch.resolve_ws_url(engine, args) == "ws://127.0.0.1:3001"
    api.answer("GET", "/config.json", 200, {"wsPort": 3001, "sameOrigin": True})
    assert watch.resolve_ws_url(engine, args) == api.url.replace("http://", "ws://")
    assert watch.ws_url_from_config("https://x.example:8443", {"sameOrigin": True}) == (
        "wss://x.example:8443"
    )
    monkeypatch.setenv("ENGINE_WS_URL", "ws://elsewhere:9")
    assert watch.resolve_ws_url(engine, args) == "ws://elsewhere:9"
    args.ws_url = "ws://flag:1"
    assert watch.resolve_ws_url(engine, args) == "ws://flag:1"
    monkeypatch.delenv("ENGINE_WS_URL")
    api.routes.pop(("GET", "/config.json"))
    args.ws_url = None
    assert watch.resolve_ws_url(engine, args) == watch.DEFAULT_WS_URL
