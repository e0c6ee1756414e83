"""Checks run before anything starts, so that every start-up failure is one line and an exit
code within seconds, not a traceback or a child restarted for ever.

- a port that is taken (names PORT or WS_PORT),
- a PostgreSQL or Redis that does not answer (names the URL, where it came from, what to do),
- a bad setting (service/config.py raises ConfigError; the CLI exits 2).

Exit codes: 2 a bad setting (fix the variable), 3 a busy port or an unreachable server.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Mapping

from service.config import Settings, redact, server_choice

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 3
CONNECT_TIMEOUT_S = 3

EMBEDDED_HINT = (
    "or unset DATABASE_URL, POSTGRES_HOST, REDIS_URL and REDIS_HOST to run embedded servers"
)


class StartupError(RuntimeError):
    """A start-up failure: `message` is the one line to print, `code` the exit code."""

    def __init__(self, message: str, code: int = EXIT_UNAVAILABLE) -> None:
        super().__init__(message)
        self.code = code


def check_port(host: str, port: int, variable: str) -> None:
    """Refuse a port something else listens on (SO_REUSEADDR, as gunicorn and the relay
    bind, so a socket in TIME_WAIT does not count)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"port {port} ({variable}) is already in use on {host}: stop what listens "
                    f"there (e.g. another `order-engine up`) or set {variable} to a free port"
                ) from None
            if e.errno == errno.EACCES:
                raise StartupError(
                    f"port {port} ({variable}) needs privileges on {host}: set {variable} "
                    "to a port above 1023"
                ) from None
            raise StartupError(
                f"cannot listen on {host}:{port} ({variable}): {e.strerror}; "
                "check HOST and " + variable
            ) from None


def check_ports(settings: Settings, *, api: bool = True, relay: bool = True) -> None:
    if api and relay and settings.port and settings.port == settings.ws_port:
        raise StartupError(
            f"PORT and WS_PORT are both {settings.port}: give the relay its own port",
            EXIT_CONFIG,
        )
    if api:
        check_port(settings.host, settings.port, "PORT")
    if relay:
        check_port(settings.host, settings.ws_port, "WS_PORT")


def _source(env: Mapping[str, str], kind: str) -> str:
    choice = server_choice(env)
    if choice.embedded:
        return "embedded"
    return choice.postgres_why if kind == "postgres" else choice.redis_why


def _first_line(e: BaseException) -> str:
    """The reason alone: psycopg's first line ends "… port 1 failed: Connection refused"."""
    text = str(e).strip() or type(e).__name__
    first = text.splitlines()[0].strip()
    return first.rsplit(" failed: ", 1)[-1].rstrip(".")


def check_postgres(url: str, env: Mapping[str, str]) -> None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        raise StartupError(
            f"cannot reach PostgreSQL at {redact(url)} ({_source(env, 'postgres')}): "
            f"{_first_line(e)}; start it or fix DATABASE_URL, {EMBEDDED_HINT}"
        ) from None


def check_redis(url: str, env: Mapping[str, str], cluster: bool = False) -> None:
    import redis

    from service.store.redis_client import sync_client

    try:
        client = sync_client(
            url,
            cluster,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=CONNECT_TIMEOUT_S,
        )
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError) as e:
        raise StartupError(
            f"cannot reach Redis at {redact(url)} ({_source(env, 'redis')}): "
            f"{_first_line(e)}; start it or fix REDIS_URL, {EMBEDDED_HINT}"
        ) from None


def check_servers(settings: Settings, env: Mapping[str, str], *, redis: bool = True) -> None:
    check_postgres(settings.database_url, env)
    if redis:
        check_redis(settings.redis_url, env, settings.redis_cluster)
