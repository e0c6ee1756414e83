"""Every setting comes from the environment, is checked once at start, and is frozen.

A bad value raises ConfigError naming the variable; the CLI prints it and exits 2.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

DEFAULT_MARKETS_FILE = Path(__file__).parent / "domain" / "markets.toml"


class ConfigError(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(name, f"must be between {lo} and {hi}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"expected a number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(name, f"must be between {lo} and {hi}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, f"expected 1/0/true/false, got {raw!r}")


def _range_ms(env: Mapping[str, str], name: str, default: tuple[int, int]) -> tuple[int, int]:
    """'200' or '2000-3000' milliseconds."""
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", raw)
    if not m:
        raise ConfigError(name, f"expected milliseconds as N or N-M, got {raw!r}")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else lo
    if hi < lo or hi > 600_000:
        raise ConfigError(name, f"expected N-M with N <= M <= 600000, got {raw!r}")
    return lo, hi


def _bps_range(env: Mapping[str, str], name: str, default: tuple[int, int]) -> tuple[int, int]:
    """'200-500' basis points."""
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", raw)
    if not m or not int(m.group(1)) <= int(m.group(2)) < 10_000:
        raise ConfigError(name, f"expected basis points as N-M with N <= M < 10000, got {raw!r}")
    return int(m.group(1)), int(m.group(2))


PG_PARTS = ("POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
REDIS_PARTS = ("REDIS_PORT",)


def _set(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(name, "").strip())


def redact(url: str) -> str:
    """A URL fit for a log line: its password replaced by ***."""
    return re.sub(r"(://[^:/@?#]*:)[^@/?#]*@", r"\1***@", url)


@dataclass(frozen=True)
class ServerChoice:
    """Which PostgreSQL and Redis `up` uses, and why (the first lines it logs).

    Embedded servers exactly when no PostgreSQL (DATABASE_URL or POSTGRES_HOST) and no Redis
    (REDIS_URL or REDIS_HOST) is named. A part given without its host (POSTGRES_PASSWORD
    with no POSTGRES_HOST, REDIS_PORT with no REDIS_HOST) is an error naming both."""

    embedded: bool
    postgres_why: str
    redis_why: str


def server_choice(env: Mapping[str, str]) -> ServerChoice:
    pg_named = next((n for n in ("DATABASE_URL", "POSTGRES_HOST") if _set(env, n)), None)
    redis_named = next((n for n in ("REDIS_URL", "REDIS_HOST") if _set(env, n)), None)
    for named, parts, host, url in (
        (pg_named, PG_PARTS, "POSTGRES_HOST", "DATABASE_URL"),
        (redis_named, REDIS_PARTS, "REDIS_HOST", "REDIS_URL"),
    ):
        given = [n for n in parts if _set(env, n)]
        if given and not named:
            raise ConfigError(
                ", ".join(given),
                f"set without {host} or {url}: set {host} (or {url}) to use that server, "
                f"or unset {', '.join(given)} to run the embedded servers",
            )
    if not pg_named and not redis_named:
        none = "no DATABASE_URL, POSTGRES_HOST, REDIS_URL or REDIS_HOST is set"
        return ServerChoice(True, none, none)
    other = {"postgres": redis_named, "redis": pg_named}

    def why(named: str | None, kind: str) -> str:
        if named:
            return f"from {named}"
        return (
            f"the default, because {other[kind]} is set (the embedded servers run only "
            "when neither PostgreSQL nor Redis is named)"
        )

    return ServerChoice(False, why(pg_named, "postgres"), why(redis_named, "redis"))


def _database_url(env: Mapping[str, str]) -> str:
    url = env.get("DATABASE_URL", "").strip()
    if url:
        if not url.startswith(("postgres://", "postgresql://")) and "=" not in url:
            raise ConfigError("DATABASE_URL", "expected postgresql://… or a key=value conninfo")
        return url
    host = env.get("POSTGRES_HOST", "127.0.0.1")
    port = _int(env, "POSTGRES_PORT", 5432, 1, 65535)
    user = env.get("POSTGRES_USER", "postgres")
    password = env.get("POSTGRES_PASSWORD", "")
    db = env.get("POSTGRES_DB", "postgres")
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    return f"postgresql://{auth}@{host}:{port}/{quote(db, safe='')}"


def _redis_url(env: Mapping[str, str]) -> str:
    url = env.get("REDIS_URL", "").strip()
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("REDIS_URL", "expected redis://host:port/db")
        return url
    host = env.get("REDIS_HOST", "127.0.0.1")
    port = _int(env, "REDIS_PORT", 6379, 1, 65535)
    return f"redis://{host}:{port}/0"


MIN_KEY_CHARS = 16
_KEY_OWNER = re.compile(r"[A-Za-z0-9_.:@-]{1,64}")


def _api_keys(env: Mapping[str, str], name: str, path: str) -> dict[str, str]:
    """API_KEYS="key1=clientA,key2=clientB" or API_KEYS_FILE with one key=client a line.

    The pair is split at its last '=' (a clientId has none), so a base64 key keeps its '='
    padding. A key shorter than MIN_KEY_CHARS is refused."""
    text = env.get(name, "")
    path = path.strip()
    if path:
        try:
            text += "\n" + Path(path).read_text()
        except OSError as e:
            raise ConfigError(f"{name}_FILE", str(e)) from None
    keys: dict[str, str] = {}
    for part in re.split(r"[,\n]", text):
        part = part.strip()
        if not part or part.startswith("#"):
            continue
        key, sep, client = part.rpartition("=")
        key, client = key.strip(), client.strip()
        if not sep or not key or not _KEY_OWNER.fullmatch(client):
            raise ConfigError(name, "expected key=clientId pairs separated by commas")
        if len(key) < MIN_KEY_CHARS or len(key) > 1024:
            raise ConfigError(name, f"every key must be {MIN_KEY_CHARS}..1024 characters")
        keys[key] = client
    return keys


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """TRUSTED_PROXIES="10.0.0.0/8,172.16.0.0/12": addresses or networks, checked here."""
    raw = [p.strip() for p in env.get(name, "").split(",") if p.strip()]
    for net in raw:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ConfigError(name, f"not an address or network: {net!r}") from None
    return tuple(raw)


@dataclass(frozen=True)
class Settings:
    port: int = 3000
    ws_port: int = 3001
    host: str = "127.0.0.1"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False  # REDIS_URL names a node of a Redis Cluster
    redis_prefix: str = "oe"
    workers: int = 1
    api_workers: int = 2
    api_threads: int = 8
    shards: int = 8
    queue_concurrency: int = 5
    queue_rate_limit_max: int = 100
    queue_rate_limit_duration_ms: int = 1000
    max_attempts: int = 3
    retry_base_ms: int = 200
    mock_quote_latency_ms: tuple[int, int] = (200, 200)
    mock_swap_latency_ms: tuple[int, int] = (2000, 3000)
    mock_failure_rate: float = 0.0
    # How long a sent transaction may land (Solana: a blockhash lasts 150 blocks, ~60 s)
    mock_blockhash_validity_ms: int = 60_000
    sim_seed: int = 42
    sim_enabled: bool = True
    sim_tick_ms: int = 1000
    sim_band_bps: tuple[int, int] = (200, 500)
    api_keys: dict[str, str] = field(default_factory=dict)
    operator_api_keys: dict[str, str] = field(default_factory=dict)
    sim_max_price_ratio: int = 100
    rate_limit_per_min: int = 600
    rate_limit_per_source_per_min: int = 6000
    trusted_proxies: tuple[str, ...] = ()
    ws_max_connections_per_client: int = 100
    ws_max_connections: int = 10_000
    header_timeout_s: float = 10.0
    api_max_connections_per_source: int = 256
    markets_file: Path = DEFAULT_MARKETS_FILE
    sweep_after_ms: int = 15_000
    claim_idle_ms: int = 30_000
    lease_ttl_ms: int = 10_000
    max_deliveries: int = 5  # an entry delivered more often than this is dead-lettered
    stream_backlog_max: int = 50_000  # a shard's unacknowledged entries before the API says 503
    stream_keep: int = 1_000  # acknowledged entries kept below the oldest pending one
    cancel_wait_ms: int = 5_000  # DELETE waits this long for the worker, then answers 202
    db_pool_size: int = 8
    max_body_bytes: int = 16_384
    log_level: str = "INFO"
    log_format: str = "json"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        markets_file = Path(env.get("MARKETS_FILE", "") or DEFAULT_MARKETS_FILE)
        if not markets_file.is_file():
            raise ConfigError("MARKETS_FILE", f"no such file: {markets_file}")
        prefix = env.get("REDIS_PREFIX", "oe").strip()
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", prefix):
            raise ConfigError("REDIS_PREFIX", "1..64 of [A-Za-z0-9_.:-]")
        log_format = env.get("LOG_FORMAT", "").strip().lower() or "json"
        if log_format not in ("json", "text"):
            raise ConfigError("LOG_FORMAT", "json or text")
        level = env.get("LOG_LEVEL", "INFO").strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("LOG_LEVEL", "one of DEBUG, INFO, WARNING, ERROR")
        shards = _int(env, "SHARDS", 8, 1, 1024)
        server_choice(env)  # a half-given server is an error for every command
        per_min = _int(env, "RATE_LIMIT_PER_MIN", 600, 1, 100_000_000)
        settings = cls(
            port=_int(env, "PORT", 3000, 0, 65535),
            ws_port=_int(env, "WS_PORT", 3001, 0, 65535),
            host=env.get("HOST", "127.0.0.1").strip() or "127.0.0.1",
            database_url=_database_url(env),
            redis_url=_redis_url(env),
            redis_cluster=_bool(env, "REDIS_CLUSTER", False),
            redis_prefix=prefix,
            workers=_int(env, "WORKERS", min(cores, shards), 1, 256),
            api_workers=_int(env, "API_WORKERS", cores, 1, 256),
            api_threads=_int(env, "API_THREADS", 8, 1, 256),
            shards=shards,
            queue_concurrency=_int(env, "QUEUE_CONCURRENCY", 5, 1, 1_000_000),
            queue_rate_limit_max=_int(env, "QUEUE_RATE_LIMIT_MAX", 100, 1, 1_000_000_000),
            queue_rate_limit_duration_ms=_int(
                env, "QUEUE_RATE_LIMIT_DURATION_MS", 1000, 1, 86_400_000
            ),
            max_attempts=_int(env, "MAX_ATTEMPTS", 3, 1, 20),
            retry_base_ms=_int(env, "RETRY_BASE_MS", 200, 0, 60_000),
            mock_quote_latency_ms=_range_ms(env, "MOCK_QUOTE_LATENCY_MS", (200, 200)),
            mock_swap_latency_ms=_range_ms(env, "MOCK_SWAP_LATENCY_MS", (2000, 3000)),
            mock_failure_rate=_float(env, "MOCK_FAILURE_RATE", 0.0, 0.0, 1.0),
            mock_blockhash_validity_ms=_int(
                env, "MOCK_BLOCKHASH_VALIDITY_MS", 60_000, 100, 600_000
            ),
            sim_seed=_int(env, "SIM_SEED", 42, 0, 2**63 - 1),
            sim_enabled=_bool(env, "SIM_ENABLED", True),
            sim_tick_ms=_int(env, "SIM_TICK_MS", 1000, 0, 3_600_000),
            sim_band_bps=_bps_range(env, "SIM_BAND_BPS", (200, 500)),
            api_keys=_api_keys(env, "API_KEYS", env.get("API_KEYS_FILE", "")),
            operator_api_keys=_api_keys(
                env, "OPERATOR_API_KEYS", env.get("OPERATOR_API_KEYS_FILE", "")
            ),
            sim_max_price_ratio=_int(env, "SIM_MAX_PRICE_RATIO", 100, 2, 1_000_000),
            rate_limit_per_min=per_min,
            rate_limit_per_source_per_min=_int(
                env, "RATE_LIMIT_PER_SOURCE_PER_MIN", min(10 * per_min, 10**9), 1, 10**9
            ),
            trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
            ws_max_connections_per_client=_int(
                env, "WS_MAX_CONNECTIONS_PER_CLIENT", 100, 1, 1_000_000
            ),
            ws_max_connections=_int(env, "WS_MAX_CONNECTIONS", 10_000, 1, 10_000_000),
            header_timeout_s=_float(env, "HEADER_TIMEOUT_S", 10.0, 0.5, 3600.0),
            api_max_connections_per_source=_int(
                env, "API_MAX_CONNECTIONS_PER_SOURCE", 256, 1, 1_000_000
            ),
            markets_file=markets_file,
            sweep_after_ms=_int(env, "SWEEP_AFTER_MS", 15_000, 100, 86_400_000),
            claim_idle_ms=_int(env, "CLAIM_IDLE_MS", 30_000, 100, 86_400_000),
            lease_ttl_ms=_int(env, "LEASE_TTL_MS", 10_000, 300, 600_000),
            max_deliveries=_int(env, "MAX_DELIVERIES", 5, 1, 1000),
            stream_backlog_max=_int(env, "STREAM_BACKLOG_MAX", 50_000, 1, 100_000_000),
            stream_keep=_int(env, "STREAM_KEEP", 1_000, 0, 100_000_000),
            cancel_wait_ms=_int(env, "CANCEL_WAIT_MS", 5_000, 10, 30_000),
            db_pool_size=_int(env, "DB_POOL_SIZE", 8, 1, 1000),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 16_384, 256, 10_000_000),
            log_level=level,
            log_format=log_format,
        )
        shared = set(settings.api_keys) & set(settings.operator_api_keys)
        if shared:
            raise ConfigError("OPERATOR_API_KEYS", "an operator key must not be a client key")
        if settings.workers > settings.shards:
            raise ConfigError("WORKERS", f"must not exceed SHARDS ({settings.shards})")
        slowest = settings.mock_quote_latency_ms[1] + settings.mock_swap_latency_ms[1]
        if settings.mock_blockhash_validity_ms <= slowest:
            raise ConfigError(
                "MOCK_BLOCKHASH_VALIDITY_MS",
                f"must exceed the slowest quote + swap ({slowest} ms): every transaction"
                " would expire before it lands",
            )
        return settings

    # -- Redis key names (hash-tagged so a Redis Cluster keeps one shard on one slot) --
    def stream_key(self, shard: int) -> str:
        return f"{self.redis_prefix}:orders:{{{shard}}}"

    def lease_key(self, shard: int) -> str:
        """The shard's lease ("owner epoch", with a TTL); same hash tag as its stream."""
        return f"{self.redis_prefix}:lease:{{{shard}}}"

    def lease_epoch_key(self, shard: int) -> str:
        """The shard's epoch counter: it only rises (INCR)."""
        return f"{self.redis_prefix}:lease:{{{shard}}}:epoch"

    def lease_clean_key(self, shard: int) -> str:
        """Set when the last owner gave the shard up cleanly (all it committed published)."""
        return f"{self.redis_prefix}:lease:{{{shard}}}:clean"

    def dead_letter_key(self, shard: int) -> str:
        """Entries no worker could decode or apply, with the error (same slot as the stream)."""
        return f"{self.redis_prefix}:dead:{{{shard}}}"

    @property
    def events_channel(self) -> str:
        return f"{self.redis_prefix}:events"

    @property
    def group(self) -> str:
        return "workers"

    def key(self, *parts: str) -> str:
        return ":".join((self.redis_prefix, *parts))

    def tagged_key(self, *parts: str) -> str:
        """A key whose derived keys (`key:n`, ...) share its slot on a Redis Cluster."""
        return f"{self.redis_prefix}:{{{':'.join(parts)}}}"
