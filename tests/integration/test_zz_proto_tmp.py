from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from service.api.app import create_app
from service.cli import cmd_migrate
from tests.integration.test_fuzz import StubWorkerQueue

CODES: Counter = Counter()


class Quiet(WSGIRequestHandler):
    def log_message(self, *a: Any) -> None:
        pass


@pytest.fixture
def api_schema(make_settings):
    settings = make_settings(RATE_LIMIT_PER_MIN="100000000")
    cmd_migrate(settings)
    app = create_app(settings, queue=StubWorkerQueue(settings))
    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{server.server_port}"
    config = SchemathesisConfig.from_dict({"generation": {"max-examples": 25, "mode": "all"}})
    schema = schemathesis.openapi.from_url(url + "/openapi.json", config=config)
    schema.config.base_url = url
    yield schema
    server.shutdown()
    server.server_close()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_api(case):
    r = case.call()
    CODES[r.status_code] += 1
    from schemathesis.checks import positive_data_acceptance
    case.validate_response(r, excluded_checks=[positive_data_acceptance])


def test_zz():
    print(CODES)
