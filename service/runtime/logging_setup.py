"""Logs as JSON lines (default) or text, on stderr, quiet by default.

`LOG_FORMAT=json|text` picks the shape, `LOG_LEVEL` the level (service/config.py). A JSON
line has `ts`, `level`, `logger`, `pid`, `msg`, the exception if any, and every field passed
with `extra=` (e.g. `log.info("...", extra={"order_id": order.id})` adds `"order_id"`).
Chatty libraries (one line per WebSocket connection) only speak from WARNING up unless
LOG_LEVEL=DEBUG.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from gunicorn.glogging import Logger as _GunicornLogger

FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
# Libraries that log every connection at INFO.
CHATTY = ("websockets", "websockets.server", "websockets.client", "asyncio")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def log_format(env: dict[str, str] | None = None) -> str:
    """LOG_FORMAT, checked: 'json' (default) or 'text'. Raises ValueError naming it."""
    raw = (os.environ if env is None else env).get("LOG_FORMAT", "").strip().lower() or "json"
    if raw not in FORMATS:
        raise ValueError(f"LOG_FORMAT: expected json or text, got {raw!r}")
    return raw


def make_formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def setup_logging(level: str | int, fmt: str = "json") -> None:
    """The root logger writes `fmt` lines to stderr at `level`; replaces earlier handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    quiet = logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
    for name in CHATTY:
        logging.getLogger(name).setLevel(quiet)


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with LOG_FORMAT lines, for its own messages and the app's.

    `order-engine api` runs gunicorn with
    `--logger-class service.runtime.logging_setup.GunicornLogger`.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        fmt = log_format()
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                handler.setFormatter(make_formatter(fmt))
        setup_logging(self.loglevel, fmt)
