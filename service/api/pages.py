"""The pages the API serves to people: the blotter (`/`, `/blotter`), the API docs (`/docs`),
their scripts and styles (`/static/…`), and `/config.json`, which tells a page (or the CLI)
where the WebSocket relay is.

Every answer carries `X-Content-Type-Options`, `X-Frame-Options: DENY` and `Referrer-Policy`;
the pages also a Content-Security-Policy: scripts, styles and connections from this origin only
(and the relay's port on this host), no framing (`frame-ancestors 'none'`).

The relay listens on its own port (WS_PORT). Behind the docker compose front (nginx on
port 3000), HTTP and both WebSocket paths share one origin, and WS_PORT is not published.
So `/config.json` says `sameOrigin: true` when the request came through a proxy (it carries
`X-Forwarded-For` or `Forwarded`), and the page then connects to `ws(s)://<its own host>/ws`;
otherwise it connects to `ws://<its own hostname>:<wsPort>/ws`. The page computes the URL from
its own location: a proxy's `Host` may have lost the port the browser used.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import falcon

from service.config import Settings

STATIC_DIR = Path(__file__).with_name("static")
_HOSTNAME = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def page_csp(req: falcon.Request, ws_port: int) -> str:
    connect = "'self'"
    if _HOSTNAME.fullmatch(req.host or ""):
        connect += f" ws://{req.host}:{ws_port} wss://{req.host}:{ws_port}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    def __init__(self, settings: Settings) -> None:
        self.ws_port = settings.ws_port

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, done: bool
    ) -> None:
        for name, value in SECURITY_HEADERS.items():
            resp.set_header(name, value)
        if (resp.content_type or "").startswith("text/html"):
            resp.set_header("Content-Security-Policy", page_csp(req, self.ws_port))


PAGES = {"/": "index.html", "/blotter": "index.html", "/docs": "docs.html"}


class PageResource:
    def __init__(self, filename: str) -> None:
        self.path = STATIC_DIR / filename

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = "text/html; charset=utf-8"
        resp.cache_control = ["no-cache"]
        resp.data = self.path.read_bytes()


class ConfigResource:
    def __init__(self, settings: Settings) -> None:
        self.ws_port = settings.ws_port

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        proxied = bool(req.get_header("X-Forwarded-For") or req.get_header("Forwarded"))
        proto = (req.get_header("X-Forwarded-Proto") or req.scheme).split(",")[0].strip()
        scheme = "wss" if proto == "https" else "ws"
        # Best effort for programs; pages build the URL from their own location. The Host
        # the request was sent to, never X-Forwarded-Host (anyone can send that one).
        host = req.get_header("Host") or req.host
        if not _HOSTNAME.fullmatch(host.rsplit(":", 1)[0] if host.count(":") == 1 else host):
            host = req.host
        ws_url = f"{scheme}://{host}" if proxied else f"{scheme}://{req.host}:{self.ws_port}"
        resp.cache_control = ["no-cache"]
        resp.media = {
            "wsPort": self.ws_port,
            "sameOrigin": proxied,
            "wsUrl": ws_url,
            "wsPaths": {"client": "/ws", "order": "/api/orders/execute"},
        }


def add_pages(app: falcon.App, settings: Settings) -> None:
    """Routes: `/`, `/blotter`, `/docs`, `/config.json` and `/static/…`."""
    for route, filename in PAGES.items():
        app.add_route(route, PageResource(filename))
    app.add_route("/config.json", ConfigResource(settings))
    app.add_static_route("/static", str(STATIC_DIR))
