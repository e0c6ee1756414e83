"""The `order-engine` command (also `python -m service`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from service.client import cli as client
from service.config import ConfigError, Settings, redact, server_choice
from service.runtime import preflight


def _setup_logging(level: str) -> None:
    """JSON lines (LOG_FORMAT=json, the default) or text on stderr: runtime/logging_setup.py."""
    from service.runtime.logging_setup import log_format, setup_logging

    setup_logging(level, log_format())


def cmd_migrate(settings: Settings) -> int:
    import psycopg

    preflight.check_servers(settings, os.environ, redis=False)

    from service.domain.markets import MarketsError, load_markets
    from service.store.migrate import migrate
    from service.store.pools import changed_markets, ensure_pools

    try:
        markets = load_markets(settings.markets_file)
    except MarketsError as e:
        raise preflight.StartupError(f"MARKETS_FILE: {e}", preflight.EXIT_CONFIG) from None
    applied = migrate(settings.database_url)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        changed = changed_markets(conn, markets)
        if changed:
            raise preflight.StartupError(
                f"{settings.markets_file.name} changed for {', '.join(changed)} since "
                "the database was seeded (their pools and prices are stored): run "
                "`order-engine reset` (or `order-engine up --fresh`) to start the market "
                "again from the file, or undo the change",
                preflight.EXIT_CONFIG,
            )
        ensure_pools(conn, markets)
    logging.getLogger("order-engine").info(
        "migrations: %s", ", ".join(applied) if applied else "up to date"
    )
    return 0


def cmd_api(settings: Settings) -> int:
    preflight.check_ports(settings, relay=False)
    preflight.check_servers(settings, os.environ)
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
    preflight.check_servers(settings, os.environ)
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

    preflight.check_ports(settings, api=False)
    preflight.check_servers(settings, os.environ)

    run(settings)
    return 0


def log_servers(settings: Settings) -> None:
    """`up`'s first lines: which PostgreSQL and Redis it uses, and why."""
    from service.runtime.embedded import data_dir

    choice = server_choice(os.environ)
    log = logging.getLogger("order-engine")
    if choice.embedded:
        root = data_dir(os.environ)
        log.info("PostgreSQL: embedded, data in %s (%s)", root / "postgres", choice.postgres_why)
        log.info("Redis: embedded Valkey, data in %s (%s)", root / "valkey", choice.redis_why)
    else:
        log.info("PostgreSQL: %s (%s)", redact(settings.database_url), choice.postgres_why)
        log.info("Redis: %s (%s)", redact(settings.redis_url), choice.redis_why)


def wipe(settings: Settings) -> None:
    from service.store.wipe import wipe_database, wipe_redis

    tables = wipe_database(settings.database_url)
    keys = wipe_redis(settings.redis_url, settings.redis_prefix, settings.redis_cluster)
    logging.getLogger("order-engine").info(
        "reset: emptied %d tables (%s) and %d Redis keys under %s:",
        len(tables),
        ", ".join(tables) or "none yet",
        keys,
        settings.redis_prefix,
    )


def cmd_reset(settings: Settings, assume_yes: bool) -> int:
    """Every order, event, fill and pool state gone; the markets file seeds them again at
    the next start. The embedded servers are started for it (and refused while an `up`
    runs on them)."""
    from service.runtime import embedded

    log_servers(settings)
    if not assume_yes:
        if not sys.stdin.isatty():
            raise preflight.StartupError(
                "reset deletes every order and the markets' state: add --yes", 2
            )
        answer = input("Delete every order, fill and pool state of this engine? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    try:
        servers = embedded.start_if_needed(os.environ)
    except embedded.EmbeddedError as e:
        raise preflight.StartupError(str(e), preflight.EXIT_CONFIG) from None
    try:
        if servers.urls:
            os.environ.update(servers.urls)
            settings = Settings.from_env()
        preflight.check_servers(settings, os.environ)
        wipe(settings)
    finally:
        servers.stop()
    return 0


def cmd_up(settings: Settings, fresh: bool = False) -> int:
    """With no URL for PostgreSQL / Redis, start embedded ones (runtime/embedded.py) and give
    every child their URLs; they are stopped after the children."""
    import signal

    from service.runtime import embedded
    from service.runtime.supervisor import Supervisor

    def stop_while_starting(signum: int, frame: object) -> None:
        raise SystemExit(0)  # the finally below still stops the embedded servers

    signal.signal(signal.SIGTERM, stop_while_starting)  # Supervisor.run sets its own
    signal.signal(signal.SIGINT, stop_while_starting)
    log_servers(settings)
    preflight.check_ports(settings)  # before starting anything
    try:
        servers = embedded.start_if_needed(os.environ)
    except embedded.EmbeddedError as e:
        print(f"order-engine: {e}", file=sys.stderr)
        return 2
    try:
        if servers.urls:
            os.environ.update(servers.urls)
            settings = Settings.from_env()
        preflight.check_servers(settings, os.environ)
        if fresh:
            wipe(settings)
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
    up = sub.add_parser("up", help="migrate, then run the API, the workers and the relay")
    up.add_argument(
        "--fresh", action="store_true", help="first reset: start the simulated market again"
    )
    reset = sub.add_parser(
        "reset", help="delete every order and the markets' state (the next start reseeds)"
    )
    reset.add_argument("--yes", action="store_true", help="do not ask")
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
        # its own program (the service never imports bench): the same interpreter runs it
        os.execv(sys.executable, [sys.executable, "-m", "bench.load", *argv[1:]])
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
    try:
        if args.command == "worker":
            if args.index is not None and not 0 <= args.index < (args.count or settings.workers):
                parser.error("--index must be below --count")
            return cmd_worker(settings, args.index, args.count, args.slot)
        if args.command == "up":
            return cmd_up(settings, args.fresh)
        if args.command == "reset":
            return cmd_reset(settings, args.yes)
        return {
            "api": cmd_api,
            "relay": cmd_relay,
            "migrate": cmd_migrate,
        }[args.command](settings)
    except preflight.StartupError as e:
        print(f"order-engine {args.command}: {e}", file=sys.stderr)
        return e.code
