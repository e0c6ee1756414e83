"""The `order-engine` command (also `python -m service`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from service.config import ConfigError, Settings


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
        stream=sys.stderr,
    )


def cmd_migrate(settings: Settings) -> int:
    import psycopg

    from service.markets import load_markets
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
        "service.api.app:get_app()",
    ]
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover


def cmd_worker(settings: Settings, index: int | None, count: int | None) -> int:
    if index is None:
        from service.supervisor import Supervisor

        return Supervisor(settings, workers_only=True).run()
    from service.worker.main import run

    run(settings, index, count or settings.workers)
    return 0


def cmd_relay(settings: Settings) -> int:
    from service.relay.main import run

    run(settings)
    return 0


def cmd_up(settings: Settings) -> int:
    from service.supervisor import Supervisor

    cmd_migrate(settings)
    return Supervisor(settings).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="order-engine", description="Order execution engine for a simulated DEX"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="migrate, then run the API, the workers and the relay")
    sub.add_parser("api", help="run the HTTP API on gunicorn")
    worker = sub.add_parser("worker", help="run engine workers (all, or one with --index)")
    worker.add_argument("--index", type=int, help="run only this worker (0-based)")
    worker.add_argument("--count", type=int, help="how many workers share the shards")
    sub.add_parser("relay", help="run the WebSocket relay")
    sub.add_parser("migrate", help="apply database migrations and seed the pools")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except ConfigError as e:
        print(f"order-engine: bad configuration: {e}", file=sys.stderr)
        return 2
    _setup_logging(settings.log_level)
    if args.command == "worker":
        if args.index is not None and not 0 <= args.index < (args.count or settings.workers):
            parser.error("--index must be below --count")
        return cmd_worker(settings, args.index, args.count)
    return {
        "up": cmd_up,
        "api": cmd_api,
        "relay": cmd_relay,
        "migrate": cmd_migrate,
    }[args.command](settings)
