"""The engine's HTTP API as the client sees it: one request, its decoded answer, or a
ClientError carrying the contract's error message and the exit code it means.

Exit codes: 0 ok, 1 the API refused (4xx), 2 bad usage, 3 cannot connect or server error.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from service import __version__

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
DEFAULT_URL = "http://127.0.0.1:3000"


class ClientError(Exception):
    """Something to tell the user, with the exit code it means."""

    def __init__(self, message: str, code: int, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def error_message(status: int, body: Any, headers: Any = None) -> str:
    """The contract's error body `{"error": {"code", "message", "field"}}` as one line."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        text = f"{status} {err.get('code', 'error')}: {err.get('message', '')}".rstrip(": ")
        if err.get("field"):
            text += f" (field: {err['field']})"
    else:
        snippet = body if isinstance(body, str) else json.dumps(body)
        text = f"HTTP {status}" + (f": {snippet.strip()[:200]}" if snippet else "")
    retry = headers.get("Retry-After") if headers is not None else None
    if retry:
        text += f"; retry after {retry} s"
    return text


def exit_code(status: int) -> int:
    return EXIT_API if 400 <= status < 500 else EXIT_UNREACHABLE


def decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


@dataclass
class Api:
    """The engine's HTTP API."""

    url: str = DEFAULT_URL
    api_key: str | None = None
    timeout: float = 10.0

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        ok: Iterable[int] = (),
    ) -> tuple[int, Any]:
        """(status, decoded body) of a 2xx answer (or of one listed in `ok`); any other answer
        raises ClientError with the contract's error message."""
        target = self.url.rstrip("/") + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            target += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(target, data=data, method=method)
        req.add_header("Accept", "application/json")
        req.add_header("User-Agent", f"order-engine-cli/{__version__}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.api_key:
            req.add_header("X-API-Key", self.api_key)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return resp.status, decode(resp.read())
        except urllib.error.HTTPError as e:
            payload = decode(e.read())
            if e.code in set(ok):
                return e.code, payload
            message = error_message(e.code, payload, e.headers)
            raise ClientError(message, exit_code(e.code), e.code) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ClientError(f"cannot connect to {self.url}: {reason}", EXIT_UNREACHABLE) from None

    def quote_decimals(self) -> dict[str, int]:
        """{symbol: decimals of its quote token}, from /markets (for rounding prices)."""
        try:
            _, data = self.request("GET", "/markets")
            return {m["symbol"]: int(m["quote"]["decimals"]) for m in data["markets"]}
        except (ClientError, KeyError, TypeError, ValueError):
            return {}
