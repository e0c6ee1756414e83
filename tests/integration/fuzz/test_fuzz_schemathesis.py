"""Requests generated from GET /openapi.json by schemathesis against the app on a real
socket, open and with API keys."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import schemathesis
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from tests.helpers.fuzz_target import KEY_A, TOTAL, Target, _report

pytestmark = [
    pytest.mark.integration,
    # the connection pools' background threads draw jitter from `random` while examples run
    pytest.mark.filterwarnings("ignore:Do not use the `random` module"),
]

# --------------------------------------------------------------------------- schemathesis
#
# The same properties, with requests generated from GET /openapi.json by schemathesis
# (valid and invalid ones, every operation) against the app on a real socket. Besides
# "no 5xx" and "nothing stored after a 4xx", schemathesis' own checks hold: answers match
# the documented schemas, status codes and content types, invalid requests are refused,
# and with API keys a request without one is refused. Not checked: "every schema-valid
# request is accepted" (ST202), since some rules are not expressible in JSON Schema (a
# token's decimals, expiresAt in the future, a market not launched yet).

ST_CODES: Counter[int] = Counter()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadedServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Live:
    def __init__(self, target: Target, keyed: bool) -> None:
        self.target = target
        self.keyed = keyed
        self.server = make_server(
            "127.0.0.1",
            0,
            target.client.app,
            server_class=_ThreadedServer,
            handler_class=_QuietHandler,
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        project: dict[str, Any] = {"generation": {"max-examples": 30, "mode": "all"}}
        if keyed:
            project["auth"] = {
                "openapi": {"apiKey": {"api_key": KEY_A}, "bearer": {"bearer": KEY_A}}
            }
        config = SchemathesisConfig.from_dict({"seed": 6, **project})
        self.schema = schemathesis.openapi.from_url(f"{self.url}/openapi.json", config=config)
        self.schema.config.base_url = self.url

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["open", "keyed"])
def live(request: pytest.FixtureRequest) -> Iterator[Live]:
    target = request.getfixturevalue(f"{request.param}_target")
    server = Live(target, keyed=request.param == "keyed")
    yield server
    server.close()


@pytest.fixture
def live_schema(live: Live) -> Any:
    return live.schema


st_schema = schemathesis.pytest.from_fixture("live_schema")


@st_schema.parametrize()
def test_fuzz_schemathesis_against_openapi_json(case: Any, live: Live) -> None:
    if live.keyed:  # let valid bodies and queries be alice's (the key's) half the time
        for where in (case.body, case.query):
            if isinstance(where, dict) and _is_client_id(where.get("clientId")):
                if len(where["clientId"]) % 2 == 0:
                    where["clientId"] = "alice"
    t = live.target
    before = t.counts()
    response = case.call()
    after = t.counts()
    ST_CODES[response.status_code] += 1
    TOTAL[response.status_code] += 1
    assert response.status_code < 500, response.text[:500]
    if 400 <= response.status_code < 500:
        assert after == before, f"stored after a {response.status_code}: {before} -> {after}"
    case.validate_response(response, excluded_checks=[positive_data_acceptance])


def _is_client_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.:@-]{1,64}", value) is not None


@pytest.fixture(scope="module", autouse=True)
def _st_total() -> Iterator[None]:
    yield
    _report("schemathesis", ST_CODES)
