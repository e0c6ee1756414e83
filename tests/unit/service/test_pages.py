"""The pages the API serves (service/api/pages.py): the blotter, the docs, their static files,
and /config.json telling a page where the WebSocket relay is."""

from __future__ import annotations

import re

import falcon
import falcon.testing
import pytest

from service.api.pages import STATIC_DIR, add_pages
from service.config import Settings


@pytest.fixture
def client() -> falcon.testing.TestClient:
    app = falcon.App()
    add_pages(app, Settings.from_env({"WS_PORT": "4001"}))
    return falcon.testing.TestClient(app)


@pytest.mark.parametrize(
    ("path", "marker"), [("/", "blotter"), ("/blotter", "blotter"), ("/docs", "docs.js")]
)
def test_pages_are_served_as_html(client, path, marker):
    r = client.simulate_get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert marker in r.text and "<!doctype html>" in r.text.lower()


@pytest.mark.parametrize("name", ["app.js", "docs.js", "style.css"])
def test_static_files_are_served(client, name):
    r = client.simulate_get(f"/static/{name}")
    assert r.status_code == 200 and r.content == (STATIC_DIR / name).read_bytes()


def test_every_script_the_blotter_loads_is_served(client):
    page = client.simulate_get("/blotter").text
    names = re.findall(r'<script src="/static/([\w.-]+\.js)" defer></script>', page)
    assert names and names[-1] == "app.js", names  # app.js starts the page: last
    for name in names:
        r = client.simulate_get(f"/static/{name}")
        assert r.status_code == 200 and r.content == (STATIC_DIR / name).read_bytes(), name
        assert "javascript" in r.headers["content-type"], (name, r.headers["content-type"])


def test_pages_load_nothing_from_elsewhere():
    for path in STATIC_DIR.iterdir():
        text = path.read_text()
        for marker in ("http://", "https://", 'src="//', 'href="//', "@import"):
            assert marker not in text, f"{path.name} loads from elsewhere: {marker}"


def test_config_direct_request_points_at_the_relay_port(client):
    r = client.simulate_get("/config.json", headers={"Host": "engine.local:3000"})
    assert r.json == {
        "wsPort": 4001,
        "sameOrigin": False,
        "wsUrl": "ws://engine.local:4001",
        "wsPaths": {"client": "/ws", "order": "/api/orders/execute"},
    }


def test_config_behind_a_proxy_is_same_origin(client):
    r = client.simulate_get(
        "/config.json",
        headers={
            "Host": "localhost:3000",
            "X-Forwarded-For": "172.18.0.1",
            "X-Forwarded-Proto": "https",
        },
    )
    assert r.json["sameOrigin"] is True and r.json["wsUrl"] == "wss://localhost:3000"
