"""Throwaway PostgreSQL and Redis servers on free ports, for fault runs: started and stopped
by pid, never the machine's shared servers."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import redis

from bench.load.engine import free_port

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")


# -- throwaway servers --
def _redis_server() -> str:
    for candidate in ("/usr/bin/redis-server", shutil.which("redis-server")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise RuntimeError("redis-server not found")


def _pg_bin(name: str) -> str:
    for d in PG_BIN_DIRS:
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found")
    return found


class ThrowawayRedis:
    """A redis-server on a free port with no persistence: a restart starts it empty."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.workdir)],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("throwaway redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def kill(self) -> None:  # SIGKILL: nothing saved, the next start is empty
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def flush(self) -> None:
        client = redis.Redis.from_url(self.url)
        client.flushall()
        client.close()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


class ThrowawayRedisCluster:
    """A local Redis Cluster of `masters` redis-servers (no replicas, no persistence) on
    free ports, made with `redis-cli --cluster create`; `url` names its first node."""

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        self.workdir = workdir
        self.ports = [_cluster_port() for _ in range(masters)]
        self.procs: list[subprocess.Popen[bytes]] = []
        self.url = f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        for port in self.ports:
            node = self.workdir / str(port)
            node.mkdir(parents=True, exist_ok=True)
            with (node / "redis.log").open("ab") as log:
                self.procs.append(
                    subprocess.Popen(
                        [_redis_server(), "--port", str(port), "--bind", "127.0.0.1",
                         "--cluster-enabled", "yes", "--cluster-config-file",
                         str(node / "nodes.conf"), "--save", "", "--appendonly", "no",
                         "--dir", str(node)],
                        stdout=log, stderr=subprocess.STDOUT,
                    )
                )  # fmt: skip
        for port in self.ports:
            _wait_ping(f"redis://127.0.0.1:{port}/0", self.procs[0])
        subprocess.run(
            ["redis-cli", "--cluster", "create",
             *[f"127.0.0.1:{p}" for p in self.ports], "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:  # every node agrees the cluster is up (all slots served)
            states = []
            for port in self.ports:
                client = redis.Redis(port=port)
                states.append(client.cluster("info").get("cluster_state"))
                client.close()
            if all(state == "ok" for state in states):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"throwaway Redis Cluster not ready: {states}")
            time.sleep(0.1)

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def flush(self) -> None:
        for port in self.ports:
            node = redis.Redis(port=port)
            node.flushall()
            node.close()

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster.from_url(self.url)


def _cluster_port() -> int:
    """A free port whose cluster bus port (10000 above) is free too: at most 55535."""
    for _ in range(1000):
        port = free_port()
        if port <= 55535 and _is_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_ping(url: str, proc: subprocess.Popen[bytes]) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.RedisError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("throwaway redis-server did not start") from None
            time.sleep(0.05)
    client.close()


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary directory on a free port (as the `postgres`
    user when started as root, since root cannot run it)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "pgdata"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._user: dict[str, Any] = {}
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            self._user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        self.base = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._user:
            os.chown(self.workdir, self._user["user"], self._user["group"])
            os.chmod(self.workdir, 0o700)
            # the parents must be searchable by the postgres user
            for parent in self.workdir.parents:
                if str(parent) in ("/", tempfile.gettempdir()):
                    break
                os.chmod(parent, os.stat(parent).st_mode | 0o011)
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-sync", "--locale=C"],
            check=True, capture_output=True, **self._user,
        )  # fmt: skip

    def start(self) -> None:
        with (self.workdir / "postgres.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [_pg_bin("postgres"), "-D", str(self.data), "-p", str(self.port),
                 "-k", str(self.workdir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "max_connections=200"],
                stdout=log, stderr=subprocess.STDOUT, **self._user,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.base, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("throwaway PostgreSQL did not start") from None
                time.sleep(0.1)

    def stop(self, sig: int = signal.SIGINT) -> None:
        """SIGINT: fast shutdown (sessions are ended, what is committed stays)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=60)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def servers(
    workdir: Path | None = None, cluster: bool = False
) -> Iterator[tuple[ThrowawayPostgres, ThrowawayRedis | ThrowawayRedisCluster]]:
    """A throwaway PostgreSQL and a throwaway Redis (with `cluster`: a Redis Cluster of
    three masters)."""
    tmp = Path(workdir or tempfile.mkdtemp(prefix="chaos-"))
    pg = ThrowawayPostgres(tmp / "pg")
    rd: ThrowawayRedis | ThrowawayRedisCluster = (
        ThrowawayRedisCluster(tmp / "redis") if cluster else ThrowawayRedis(tmp / "redis")
    )
    try:
        pg.init()
        pg.start()
        rd.start()
        yield pg, rd
    finally:
        rd.kill()
        pg.stop()
        if workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)
