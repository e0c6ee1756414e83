"""The `order-engine` command (also `python -m service`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from service.client import cli as client
from service.config import ConfigError, Settings


def _setup_logging(level: str) -> None:
    """JSON lines (LOG_FORMAT=json, the default) or text on stderr: runtime/logging_setup.py."""
    from service.runtime.logging_setup import log_format, setup_logging

    setup_logging(level, log_format())


def cmd_migrate(settings: Settings) -> int:
    import psycopg

    from service.domain.markets import load_markets
    from service.store.migrate import migrate
    from service.store.pools import ensure_pools

    applied = migrate(settings.database_url)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        ensure_pools(conn, load_markets(settings.markets_file))
    logging.getLogger("order-engine").info(
        "migrations: %s", ", ".join(applied) if applied else "up to date"
    )
    return 0


def cmd_api(settings: Settings) -> int:
    os.environ.setdefault("PORT", str(settings.port))
    os.environ.setdefault("API_WORKERS", str(settings.api_workers))
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:service.api.gunicorn_conf",
        "--logger-class",
        "service.runtime.logging_setup.GunicornLogger",
        "service.api.app:get_app()",
    ]
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover


def cmd_worker(
    settings: Settings, index: int | None, count: int | None, slot: int | None = None
) -> int:
    if index is None and slot is None:
        from service.runtime.supervisor import Supervisor

        return Supervisor(settings, workers_only=True).run()
    from service.worker.main import run

    if index is None:
        run(settings, None, None, slot or 0)
    else:
        run(settings, index, count or settings.workers)
    return 0


def cmd_relay(settings: Settings) -> int:
    from service.relay.main import run

    run(settings)
    return 0


def cmd_up(settings: Settings) -> int:
    """With no URL for PostgreSQL / Redis, start embedded ones (runtime/embedded.py) and give
    every child their URLs; they are stopped after the children."""
    import signal

    from service.runtime import embedded
    from service.runtime.supervisor import Supervisor

    def stop_while_starting(signum: int, frame: object) -> None:
        raise SystemExit(0)  # the finally below still stops the embedded servers

    signal.signal(signal.SIGTERM, stop_while_starting)  # Supervisor.run sets its own
    signal.signal(signal.SIGINT, stop_while_starting)
    try:
        servers = embedded.start_if_needed(os.environ)
    except embedded.EmbeddedError as e:
        print(f"order-engine: {e}", file=sys.stderr)
        return 2
    try:
        if servers.urls:
            os.environ.update(servers.urls)
            settings = Settings.from_env()
        cmd_migrate(settings)
        return Supervisor(settings).run()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        servers.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="order-engine", description="Order execution engine for a simulated DEX"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="migrate, then run the API, the workers and the relay")
    sub.add_parser("api", help="run the HTTP API on gunicorn")
    worker = sub.add_parser(
        "worker", help="run WORKERS engine workers that share the shards by lease"
    )
    worker.add_argument(
        "--slot", type=int, help="run one worker of the pool, pinned to this core (0-based)"
    )
    worker.add_argument(
        "--index", type=int, help="static mode: run one worker for shards %% count == index"
    )
    worker.add_argument("--count", type=int, help="static mode: how many workers share them")
    sub.add_parser("relay", help="run the WebSocket relay")
    sub.add_parser("migrate", help="apply database migrations and seed the pools")
    client.add_parsers(sub)  # submit, watch, cancel, orders, quote, markets: service/client/cli.py
    sub.add_parser("bench", add_help=False, help="end-to-end load run: python -m bench.load")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # every option after it is bench.load's (--help lists them)
        from bench.load.load import main as bench_main

        return bench_main(argv[1:])
    args = parser.parse_args(argv)
    if getattr(args, "client_command", None):
        return client.run(args)

    try:
        settings = Settings.from_env()
    except ConfigError as e:
        print(f"order-engine: bad configuration: {e}", file=sys.stderr)
        return 2
    try:
        _setup_logging(settings.log_level)
    except ValueError as e:  # LOG_FORMAT
        print(f"order-engine: bad configuration: {e}", file=sys.stderr)
        return 2
    if args.command == "worker":
        if args.index is not None and not 0 <= args.index < (args.count or settings.workers):
            parser.error("--index must be below --count")
        return cmd_worker(settings, args.index, args.count, args.slot)
    return {
        "up": cmd_up,
        "api": cmd_api,
        "relay": cmd_relay,
        "migrate": cmd_migrate,
    }[args.command](settings)
