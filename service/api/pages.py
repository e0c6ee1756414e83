"""The pages the API serves to people: the blotter (`/`, `/blotter`), the API docs (`/docs`),
their scripts and styles (`/static/…`), and `/config.json`, which tells a page (or the CLI)
where the WebSocket relay is.

The relay listens on its own port (WS_PORT). Behind the docker compose front (nginx on
port 3000), HTTP and both WebSocket paths share one origin, and WS_PORT is not published.
So `/config.json` says `sameOrigin: true` when the request came through a proxy (it carries
`X-Forwarded-For` or `Forwarded`), and the page then connects to `ws(s)://<its own host>/ws`;
otherwise it connects to `ws://<its own hostname>:<wsPort>/ws`. The page computes the URL from
its own location: a proxy's `Host` may have lost the port the browser used.
"""

from __future__ import annotations

from pathlib import Path

import falcon

from service.config import Settings

STATIC_DIR = Path(__file__).with_name("static")
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
        # Best effort for programs; pages build the URL from their own location.
        host = req.get_header("X-Forwarded-Host") or req.get_header("Host") or req.host
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
