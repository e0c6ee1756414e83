"""Logs as JSON lines (service/runtime/logging_setup.py): fields, `extra=` (order_id), exceptions,
LOG_FORMAT checking, and quiet WebSocket chatter."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from service.runtime import logging_setup
from service.runtime.cli import main


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("service.worker", logging.INFO, __file__, 1, msg, args, None)
    rec.__dict__.update(extra)
    return rec


def test_json_line_has_the_fields_and_the_order_id():
    line = logging_setup.JsonFormatter().format(record("order %s filled", "abc", order_id="abc"))
    data = json.loads(line)
    assert data["msg"] == "order abc filled" and data["order_id"] == "abc"
    assert data["level"] == "info" and data["logger"] == "service.worker"
    assert isinstance(data["pid"], int) and data["ts"].endswith("+00:00")
    assert "\n" not in line


def test_json_line_carries_the_exception():
    try:
        raise ValueError("boom")
    except ValueError:
        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    data = json.loads(logging_setup.JsonFormatter().format(rec))
    assert "ValueError: boom" in data["exc"]


def test_values_json_cannot_encode_become_strings():
    data = json.loads(logging_setup.JsonFormatter().format(record("x", order_id=object())))
    assert data["order_id"].startswith("<object")


@pytest.mark.parametrize(("raw", "want"), [("", "json"), ("JSON", "json"), (" text ", "text")])
def test_log_format_values(raw, want):
    assert logging_setup.log_format({"LOG_FORMAT": raw}) == want


def test_bad_log_format_stops_the_process_naming_it(monkeypatch, capsys):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    assert main(["relay"]) == 2
    assert "LOG_FORMAT" in capsys.readouterr().err


def test_setup_logging_writes_json_and_quiets_websockets(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logging_setup.setup_logging("INFO", "json")
        logging.getLogger("service.test").info("hello", extra={"order_id": "o-1"})
        logging.getLogger("websockets.server").info("connection open")
        lines = stream.getvalue().splitlines()
        assert [json.loads(line)["msg"] for line in lines] == ["hello"]
        assert json.loads(lines[0])["order_id"] == "o-1"
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
