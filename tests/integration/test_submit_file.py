"""`order-engine submit --file orders.jsonl` against the app on a real socket (real
PostgreSQL and Redis): batches of 100, one line per order in file order, exit codes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import psycopg
import pytest

from service.api.app import create_app
from service.config import Settings
from service.runtime.cli import main as engine_main

pytestmark = pytest.mark.integration


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@pytest.fixture
def api_url(settings: Settings) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, create_app(settings), _Threaded, _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def submit(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = engine_main(["submit", "--url", url, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stored(settings: Settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute("SELECT count(*) FROM orders").fetchone()[0]


def test_submit_file_250_orders_in_three_batches_one_line_each_in_order(
    api_url: str, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "orders.jsonl"
    lines = ["# a basket", ""]
    lines += [json.dumps({"side": "buy" if i % 2 else "sell", "clientOrderId": f"f{i}"})
              for i in range(250)]  # fmt: skip
    f.write_text("\n".join(lines) + "\n")
    code, out, err = submit(
        api_url, capsys, "--file", str(f), "--client-id", "filer", "--symbol", "SOL/USDC",
        "--amount", "0.01",
    )  # fmt: skip
    assert code == 0, err
    rows = out.splitlines()
    assert len(rows) == 251 and rows[-1] == "250 placed, 0 refused"
    assert [r.split(":")[0] for r in rows[:-1]] == [f"line {n}" for n in range(3, 253)]
    assert all(" 201 " in r and r.endswith("pending") for r in rows[:-1])
    assert stored(settings) == 250
    with psycopg.connect(settings.database_url) as conn:
        (commits,) = conn.execute("SELECT count(DISTINCT xmin::text) FROM orders").fetchone()
    assert commits == 3  # one commit per request of up to 100

    code, out, _ = submit(api_url, capsys, "--file", str(f), "--client-id", "filer",
                          "--symbol", "SOL/USDC", "--amount", "0.01")  # fmt: skip
    assert code == 0 and out.count("already placed") == 250 and stored(settings) == 250


def test_submit_file_bad_order_exit_1_names_line_and_field_others_placed(
    api_url: str, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = {"clientId": "filer", "symbol": "SOL/USDC", "side": "buy", "amount": "0.01"}
    f = tmp_path / "orders.jsonl"
    f.write_text("\n".join(json.dumps(b) for b in [good, {**good, "amount": "-1"}, good]))
    code, out, _ = submit(api_url, capsys, "--file", str(f), "--json")
    assert code == 1
    results = json.loads(out)
    assert [(r["line"], r["status"]) for r in results] == [(1, 201), (2, 400), (3, 201)]
    assert results[1]["error"]["field"] == "orders[1].amount"
    code, out, _ = submit(api_url, capsys, "--file", str(f))
    assert code == 1 and "line 2: 400 invalid_field amount:" in out
    assert stored(settings) == 4


def test_submit_file_not_json_exit_2_sends_nothing(
    api_url: str, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "orders.jsonl"
    f.write_text('{"clientId": "a", "symbol": "SOL/USDC", "side": "buy", "amount": "1"}\n{oops\n')
    code, _, err = submit(api_url, capsys, "--file", str(f))
    assert code == 2 and "line 2: not JSON" in err
    assert stored(settings) == 0


def test_submit_without_file_still_requires_the_body_flags(
    api_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        submit(api_url, capsys, "--symbol", "SOL/USDC")
    err = capsys.readouterr().err
    assert e.value.code == 2 and "usage:" in err
    assert "--client-id" in err and "--side" in err and "--amount" in err
