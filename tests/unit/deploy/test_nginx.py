"""Static checks of deploy/nginx.conf, the front: its routing is simulated on the parsed config
(location choice, `map`, `set`, variables). No Docker engine or nginx is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from tests.helpers.deploy_files import (
    API_ADDR,
    RELAY_ADDR,
    ROOT,
    compose,
)

# --------------------------------------------------------------------------- nginx model


class _Special(str):
    """A `;`, `{` or `}` token (a quoted ";" stays a plain word)."""


def nginx_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in ";{}":
            tokens.append(_Special(c))
            i += 1
        elif c in "'\"":
            j = text.index(c, i + 1)
            tokens.append(text[i + 1 : j])
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in ";{}":
                j += 1
            tokens.append(text[i:j])
            i = j
    return tokens


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None


def parse_nginx(text: str) -> list[Directive]:
    tokens = nginx_tokens(text)
    pos = 0

    def block(top: bool) -> list[Directive]:
        nonlocal pos
        items: list[Directive] = []
        words_: list[str] = []
        while pos < len(tokens):
            tok = tokens[pos]
            pos += 1
            if isinstance(tok, _Special) and tok == ";":
                items.append(Directive(words_[0], words_[1:]))
                words_ = []
            elif isinstance(tok, _Special) and tok == "{":
                head, words_ = words_, []
                items.append(Directive(head[0], head[1:], block(top=False)))
            elif isinstance(tok, _Special) and tok == "}":
                assert not top and not words_, "unbalanced '}' or missing ';' in nginx.conf"
                return items
            else:
                words_.append(tok)
        assert top and not words_, "unclosed '{' or missing ';' in nginx.conf"
        return items

    return block(top=True)


def find(items: list[Directive], name: str) -> list[Directive]:
    return [d for d in items if d.name == name]


@dataclass
class Front:
    http: list[Directive]
    server: list[Directive]

    @classmethod
    def load(cls) -> Front:
        conf = parse_nginx((ROOT / "deploy" / "nginx.conf").read_text())
        http = find(conf, "http")
        assert len(http) == 1, "nginx.conf needs one http block"
        servers = [
            s
            for s in find(http[0].block or [], "server")
            if any(
                d.args and d.args[0].rsplit(":", 1)[-1] == "3000"
                for d in find(s.block or [], "listen")
            )
        ]
        assert len(servers) == 1, "nginx.conf needs one server listening on 3000"
        return cls(http[0].block or [], servers[0].block or [])

    def location(self, path: str) -> list[Directive]:
        """nginx's choice: an exact `=` match, else the longest prefix (no regex here)."""
        locs = find(self.server, "location")
        for loc in locs:
            assert loc.args[0] not in ("~", "~*"), (
                "regex locations are not modelled by this test; route with = and prefixes"
            )
        for loc in locs:
            if loc.args[0] == "=" and loc.args[1] == path:
                return loc.block or []
        prefixes = [
            (loc.args[-1], loc.block or [])
            for loc in locs
            if loc.args[0] != "=" and path.startswith(loc.args[-1])
        ]
        assert prefixes, f"no location matches {path}"
        return max(prefixes, key=lambda p: len(p[0]))[1]

    def effective(self, location: list[Directive], name: str) -> list[Directive]:
        """Directives as inherited: the innermost level that has any of them wins whole."""
        for level in (location, self.server, self.http):
            found = find(level, name)
            if found:
                return found
        return []

    def _map_value(self, block: list[Directive], source: str) -> str:
        default = ""
        regexes = []
        for d in block:
            key, value = d.name, (d.args[0] if d.args else "")
            if key == "default":
                default = value
            elif key in ("hostnames", "volatile"):
                continue
            elif key.startswith("~"):
                flags = re.IGNORECASE if key.startswith("~*") else 0
                regexes.append((re.compile(key.lstrip("~*"), flags), value))
            elif key.lstrip("\\") == source:
                return value
        for rx, value in regexes:
            if rx.search(source):
                return value
        return default

    def expand(self, text: str, location: list[Directive], request: dict[str, str]) -> str:
        def var(name: str) -> str:
            if name in request:
                return request[name]
            for level in (location, self.server):
                for d in reversed(find(level, "set")):
                    if d.args[0] == "$" + name:
                        return self.expand(d.args[1], location, request)
            for d in find(self.http, "map"):
                if d.args[1] == "$" + name:
                    source = self.expand(d.args[0], location, request)
                    return self.expand(self._map_value(d.block or [], source), location, request)
            raise AssertionError(f"nginx.conf: ${name} is never defined")

        return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: var(m.group(1)), text)

    def route(self, path: str, upgrade: str | None) -> tuple[str, list[Directive]]:
        """host:port that a request for `path` (with that Upgrade header) is proxied to."""
        request = {"http_upgrade": upgrade or "", "uri": path, "request_uri": path}
        loc = self.location(path)
        passes = find(loc, "proxy_pass")
        assert len(passes) == 1, f"location for {path} has no single proxy_pass"
        url = self.expand(passes[0].args[0], loc, request)
        netloc = urlsplit(url).netloc
        for up in find(self.http, "upstream"):
            if up.args[0] == netloc:
                servers = find(up.block or [], "server")
                assert servers, f"upstream {netloc} has no server"
                return servers[0].args[0], loc
        return netloc, loc

    def uses_variables(self) -> bool:
        return any(
            "$" in d.args[0]
            for loc in find(self.server, "location")
            for d in find(loc.block or [], "proxy_pass")
        )


# --------------------------------------------------------------------------- nginx front


@pytest.mark.parametrize(
    ("path", "upgrade", "target"),
    [
        ("/api/orders/execute", "websocket", RELAY_ADDR),
        ("/api/orders/execute", "WebSocket", RELAY_ADDR),
        ("/api/orders/execute", None, API_ADDR),  # the order POST
        ("/ws", "websocket", RELAY_ADDR),
        ("/orders", None, API_ADDR),
        ("/orders/5b0c1e8e-0000-4000-8000-000000000000/events", None, API_ADDR),
        ("/quote", None, API_ADDR),
        ("/markets", None, API_ADDR),
        ("/health", None, API_ADDR),
        ("/metrics", None, API_ADDR),
        ("/sim/price", None, API_ADDR),
    ],
)
def test_nginx_routes_request_to_expected_backend(path, upgrade, target):
    got, _ = Front.load().route(path, upgrade)
    assert got == target, f"{path} (Upgrade: {upgrade}) goes to {got}, not {target}"


@pytest.mark.parametrize("path", ["/ws", "/api/orders/execute"])
def test_nginx_websocket_location_forwards_the_upgrade(path):
    front = Front.load()
    _, loc = front.route(path, "websocket")
    version = front.effective(loc, "proxy_http_version")
    assert version and version[-1].args == ["1.1"], "WebSocket needs proxy_http_version 1.1"
    headers = {d.args[0].lower(): d.args[1] for d in front.effective(loc, "proxy_set_header")}
    request = {"http_upgrade": "websocket"}
    assert front.expand(headers.get("upgrade", ""), loc, request) == "websocket"
    assert front.expand(headers.get("connection", ""), loc, request).lower() == "upgrade"


def test_nginx_listens_on_the_published_port_and_can_resolve_backends():
    front = Front.load()  # asserts a server on :3000, the container port compose publishes
    if front.uses_variables():
        assert find(front.http, "resolver") or find(front.server, "resolver"), (
            "proxy_pass with variables needs a resolver (Docker DNS is 127.0.0.11)"
        )
    hosts = {
        front.route(p, u)[0].split(":")[0]
        for p, u in [("/", None), ("/ws", "websocket"), ("/api/orders/execute", "websocket")]
    }
    assert hosts <= set(compose()["services"]), f"nginx names unknown services: {hosts}"
