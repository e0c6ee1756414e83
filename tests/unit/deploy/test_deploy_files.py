"""Static checks of the deployment files: Dockerfile, .dockerignore, docker-compose.yml,
deploy/nginx.conf, deploy/prometheus.yml and .env.example.

No Docker engine is needed: the files are parsed and checked against each other and against
service/config.py (the only reader of the engine's settings). The nginx front is checked by
simulating its routing (location choice, `map`, `set`, variables) on the parsed config.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from service.config import Settings

ROOT = Path(__file__).resolve().parents[3]

# The CLI's subcommands (DESIGN.md "Processes"): `order-engine up|api|worker|relay|migrate`.
SUBCOMMANDS = {"up", "api", "worker", "relay", "migrate"}
APP_SERVICES = {"migrate": "migrate", "api": "api", "worker": "worker", "relay": "relay"}
LONG_RUNNING = ("api", "worker", "relay")
API_ADDR = "api:3000"
RELAY_ADDR = "relay:3001"
# Variables the compose file may set besides service/config.py's: read by service/metrics.
EXTRA_APP_ENV = {"PROMETHEUS_MULTIPROC_DIR"}
# Superseded in compose by DATABASE_URL / REDIS_URL.
URL_PARTS = {
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "REDIS_HOST",
    "REDIS_PORT",
}
COMPILERS = {"build-essential", "gcc", "g++", "cc", "c++", "clang", "make", "cython", "cythonize"}


# --------------------------------------------------------------------------- loaders


@cache
def config_env_vars() -> frozenset[str]:
    """Every environment variable name service/config.py reads, found in its syntax tree."""
    tree = ast.parse((ROOT / "service" / "config.py").read_text())

    def is_str(node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str)

    def is_env(node: ast.AST) -> bool:
        return (isinstance(node, ast.Name) and node.id in ("env", "environ")) or (
            isinstance(node, ast.Attribute) and node.attr == "environ"
        )

    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func, args = node.func, node.args
            # env.get("X"), os.environ.get("X"), os.getenv("X")
            if isinstance(func, ast.Attribute) and args and is_str(args[0]):
                if (func.attr == "get" and is_env(func.value)) or func.attr == "getenv":
                    names.add(args[0].value)
            # _int(env, "X", ...), _bool(env, "X", ...), ...
            if len(args) >= 2 and is_env(args[0]) and is_str(args[1]):
                names.add(args[1].value)
        elif isinstance(node, ast.Subscript) and is_env(node.value) and is_str(node.slice):
            names.add(node.slice.value)
    return frozenset(n for n in names if re.fullmatch(r"[A-Z][A-Z0-9_]*", n))


@cache
def cli_subcommands() -> frozenset[str]:
    """The subcommands service/runtime/cli.py declares: its `….add_parser("name", …)` calls."""
    tree = ast.parse((ROOT / "service" / "runtime" / "cli.py").read_text())
    return frozenset(
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "add_parser"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


@cache
def config_error_names() -> frozenset[str]:
    """The names service/config.py puts in ConfigError (each one is a variable it reads)."""
    tree = ast.parse((ROOT / "service" / "config.py").read_text())
    return frozenset(
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "ConfigError"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


@dataclass(frozen=True)
class EnvLine:
    name: str
    value: str
    lineno: int
    comment_above: bool


@cache
def env_example() -> tuple[EnvLine, ...]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    out = []
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line)
        assert m, f".env.example:{i + 1}: not NAME=value: {raw!r}"
        above = lines[i - 1].strip() if i else ""
        out.append(EnvLine(m.group(1), m.group(2), i + 1, above.startswith("#")))
    return tuple(out)


def env_example_dict() -> dict[str, str]:
    return {e.name: e.value for e in env_example()}


@cache
def compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(compose_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def service_env(name: str) -> dict[str, str]:
    env = service(name).get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def interpolate_defaults(value: str) -> str:
    """What compose gives a value when .env sets nothing: ${X:-d} and ${X-d} -> d, ${X} -> ""."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)


def healthcheck_text(name: str) -> str:
    hc = service(name).get("healthcheck") or {}
    test = hc.get("test", "")
    return " ".join(test) if isinstance(test, list) else str(test)


def command(name: str) -> list[str]:
    cmd = service(name).get("command")
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd or [])


def depends_on(name: str) -> dict[str, str]:
    deps = service(name).get("depends_on") or {}
    if isinstance(deps, list):
        return {d: "service_started" for d in deps}
    return {k: (v or {}).get("condition", "service_started") for k, v in deps.items()}


def published_ports(name: str) -> list[tuple[str, str]]:
    """(host port, container port) pairs of a service's `ports`."""
    out = []
    for p in service(name).get("ports") or []:
        if isinstance(p, dict):
            out.append((str(p.get("published", "")), str(p["target"])))
        else:
            parts = str(p).split("/")[0].split(":")
            out.append((parts[-2] if len(parts) > 1 else "", parts[-1]))
    return out


def mounts(name: str) -> list[tuple[str, str]]:
    """(source, target) pairs of a service's `volumes`."""
    out = []
    for v in service(name).get("volumes") or []:
        if isinstance(v, dict):
            out.append((str(v.get("source", "")), str(v["target"])))
        else:
            parts = str(v).split(":")
            out.append((parts[0], parts[1]) if len(parts) > 1 else ("", parts[0]))
    return out


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[tuple[str, str], ...]

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


@cache
def dockerfile_stages() -> tuple[Stage, ...]:
    """The Dockerfile as stages of (KEYWORD, arguments), continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    buf = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.rstrip()
        if line.lstrip().startswith("#") or (not buf and not line.strip()):
            continue  # comment lines are dropped, also inside a continued instruction
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        keyword, _, rest = buf.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        buf = ""
    assert not buf, "Dockerfile ends inside a continued line"
    stages: list[Stage] = []
    for keyword, args in instructions:
        if keyword == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            stages.append(Stage(words[0], name, ()))
        else:
            assert stages, f"{keyword} before the first FROM"
            last = stages[-1]
            stages[-1] = dataclasses.replace(
                last, instructions=(*last.instructions, (keyword, args))
            )
    return tuple(stages)


def final_stage() -> Stage:
    return dockerfile_stages()[-1]


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z0-9_.+-]+", text.lower()))


# --------------------------------------------------------------------------- nginx model


class _Special(str):
    """A `;`, `{` or `}` token (a quoted ";" stays a plain word)."""


def nginx_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in ";{}":
            tokens.append(_Special(c))
            i += 1
        elif c in "'\"":
            j = text.index(c, i + 1)
            tokens.append(text[i + 1 : j])
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in ";{}":
                j += 1
            tokens.append(text[i:j])
            i = j
    return tokens


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None


def parse_nginx(text: str) -> list[Directive]:
    tokens = nginx_tokens(text)
    pos = 0

    def block(top: bool) -> list[Directive]:
        nonlocal pos
        items: list[Directive] = []
        words_: list[str] = []
        while pos < len(tokens):
            tok = tokens[pos]
            pos += 1
            if isinstance(tok, _Special) and tok == ";":
                items.append(Directive(words_[0], words_[1:]))
                words_ = []
            elif isinstance(tok, _Special) and tok == "{":
                head, words_ = words_, []
                items.append(Directive(head[0], head[1:], block(top=False)))
            elif isinstance(tok, _Special) and tok == "}":
                assert not top and not words_, "unbalanced '}' or missing ';' in nginx.conf"
                return items
            else:
                words_.append(tok)
        assert top and not words_, "unclosed '{' or missing ';' in nginx.conf"
        return items

    return block(top=True)


def find(items: list[Directive], name: str) -> list[Directive]:
    return [d for d in items if d.name == name]


@dataclass
class Front:
    http: list[Directive]
    server: list[Directive]

    @classmethod
    def load(cls) -> Front:
        conf = parse_nginx((ROOT / "deploy" / "nginx.conf").read_text())
        http = find(conf, "http")
        assert len(http) == 1, "nginx.conf needs one http block"
        servers = [
            s
            for s in find(http[0].block or [], "server")
            if any(
                d.args and d.args[0].rsplit(":", 1)[-1] == "3000"
                for d in find(s.block or [], "listen")
            )
        ]
        assert len(servers) == 1, "nginx.conf needs one server listening on 3000"
        return cls(http[0].block or [], servers[0].block or [])

    def location(self, path: str) -> list[Directive]:
        """nginx's choice: an exact `=` match, else the longest prefix (no regex here)."""
        locs = find(self.server, "location")
        for loc in locs:
            assert loc.args[0] not in ("~", "~*"), (
                "regex locations are not modelled by this test; route with = and prefixes"
            )
        for loc in locs:
            if loc.args[0] == "=" and loc.args[1] == path:
                return loc.block or []
        prefixes = [
            (loc.args[-1], loc.block or [])
            for loc in locs
            if loc.args[0] != "=" and path.startswith(loc.args[-1])
        ]
        assert prefixes, f"no location matches {path}"
        return max(prefixes, key=lambda p: len(p[0]))[1]

    def effective(self, location: list[Directive], name: str) -> list[Directive]:
        """Directives as inherited: the innermost level that has any of them wins whole."""
        for level in (location, self.server, self.http):
            found = find(level, name)
            if found:
                return found
        return []

    def _map_value(self, block: list[Directive], source: str) -> str:
        default = ""
        regexes = []
        for d in block:
            key, value = d.name, (d.args[0] if d.args else "")
            if key == "default":
                default = value
            elif key in ("hostnames", "volatile"):
                continue
            elif key.startswith("~"):
                flags = re.IGNORECASE if key.startswith("~*") else 0
                regexes.append((re.compile(key.lstrip("~*"), flags), value))
            elif key.lstrip("\\") == source:
                return value
        for rx, value in regexes:
            if rx.search(source):
                return value
        return default

    def expand(self, text: str, location: list[Directive], request: dict[str, str]) -> str:
        def var(name: str) -> str:
            if name in request:
                return request[name]
            for level in (location, self.server):
                for d in reversed(find(level, "set")):
                    if d.args[0] == "$" + name:
                        return self.expand(d.args[1], location, request)
            for d in find(self.http, "map"):
                if d.args[1] == "$" + name:
                    source = self.expand(d.args[0], location, request)
                    return self.expand(self._map_value(d.block or [], source), location, request)
            raise AssertionError(f"nginx.conf: ${name} is never defined")

        return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: var(m.group(1)), text)

    def route(self, path: str, upgrade: str | None) -> tuple[str, list[Directive]]:
        """host:port that a request for `path` (with that Upgrade header) is proxied to."""
        request = {"http_upgrade": upgrade or "", "uri": path, "request_uri": path}
        loc = self.location(path)
        passes = find(loc, "proxy_pass")
        assert len(passes) == 1, f"location for {path} has no single proxy_pass"
        url = self.expand(passes[0].args[0], loc, request)
        netloc = urlsplit(url).netloc
        for up in find(self.http, "upstream"):
            if up.args[0] == netloc:
                servers = find(up.block or [], "server")
                assert servers, f"upstream {netloc} has no server"
                return servers[0].args[0], loc
        return netloc, loc

    def uses_variables(self) -> bool:
        return any(
            "$" in d.args[0]
            for loc in find(self.server, "location")
            for d in find(loc.block or [], "proxy_pass")
        )


# --------------------------------------------------------------------------- config.py / .env


def test_config_reads_parser_finds_known_variables():
    found = config_env_vars()
    assert {
        "PORT",
        "WS_PORT",
        "DATABASE_URL",
        "POSTGRES_HOST",
        "REDIS_URL",
        "QUEUE_CONCURRENCY",
        "MOCK_SWAP_LATENCY_MS",
        "MARKETS_FILE",
    } <= found
    missed = config_error_names() - found
    assert not missed, f"the parser misses variables config.py names in errors: {missed}"


def test_env_example_every_variable_is_read_by_config():
    unknown = set(env_example_dict()) - config_env_vars()
    assert not unknown, f".env.example sets variables service/config.py never reads: {unknown}"


def test_env_example_every_config_variable_is_listed():
    missing = config_env_vars() - set(env_example_dict())
    assert not missing, f"service/config.py reads variables missing from .env.example: {missing}"


def test_env_example_each_variable_once_with_a_comment():
    names = [e.name for e in env_example()]
    assert len(names) == len(set(names)), "a variable is listed twice in .env.example"
    bare = [e.name for e in env_example() if not e.comment_above]
    assert not bare, f".env.example: no comment line above {bare}"


def test_env_example_values_equal_config_defaults():
    assert Settings.from_env(env_example_dict()) == Settings.from_env({})


def test_env_example_seed_variables_present_with_seed_queue_values():
    env = env_example_dict()
    for name in (
        "PORT",
        "POSTGRES_HOST",
        "POSTGRES_PORT",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_DB",
        "REDIS_HOST",
        "REDIS_PORT",
    ):
        assert name in env, name
    assert env["PORT"] == "3000"
    assert env["QUEUE_CONCURRENCY"] == "5"
    assert env["QUEUE_RATE_LIMIT_MAX"] == "100"
    assert env["QUEUE_RATE_LIMIT_DURATION_MS"] == "1000"


def test_cli_declares_the_subcommands_the_deploy_files_use():
    missing = SUBCOMMANDS - cli_subcommands()
    assert not missing, f"service/runtime/cli.py lacks subcommands {missing}"


# --------------------------------------------------------------------------- docker-compose.yml


def test_compose_services_all_present():
    expected = {"postgres", "redis", "migrate", "api", "worker", "relay", "front", "prometheus"}
    missing = expected - set(compose()["services"])
    assert not missing, f"docker-compose.yml lacks services {missing}"


def test_compose_images_are_the_pinned_ones():
    assert service("postgres")["image"] == "postgres:15"
    assert service("redis")["image"] == "redis:7"
    assert service("front")["image"] == "nginx:1.27-alpine"
    assert str(service("prometheus")["image"]).startswith("prom/prometheus")


def test_compose_app_services_build_one_image_from_the_dockerfile():
    images = set()
    for name in APP_SERVICES:
        build = service(name).get("build")
        assert build, f"{name} has no build section"
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        assert Path(context) in (Path("."), Path("./")) and dockerfile == "Dockerfile", name
        images.add(service(name).get("image"))
    assert len(images) == 1, f"app services should share one image name, got {images}"


@pytest.mark.parametrize(("name", "sub"), sorted(APP_SERVICES.items()))
def test_compose_app_service_command_is_a_cli_subcommand(name, sub):
    cmd = command(name)
    assert cmd[:1] == ["order-engine"], f"{name}: {cmd}"
    assert cmd[1:2] == [sub], f"{name}: {cmd}"
    assert sub in cli_subcommands(), f"{name}: service/runtime/cli.py has no subcommand {sub!r}"


def test_compose_postgres_healthcheck_and_volume():
    assert "pg_isready" in healthcheck_text("postgres")
    assert any(t == "/var/lib/postgresql/data" for _, t in mounts("postgres"))
    declared = set(compose().get("volumes") or {})
    for src, _ in mounts("postgres"):
        assert src in declared, f"postgres volume {src} is not a declared named volume"


def test_compose_redis_healthcheck_pings():
    assert re.search(r"redis-cli\b.*\bping\b", healthcheck_text("redis"))


def test_compose_api_healthcheck_gets_health_on_3000():
    text = healthcheck_text("api")
    assert "/health" in text and ":3000" in text and "/healthz" not in text


def test_compose_relay_healthcheck_gets_healthz_on_3001():
    text = healthcheck_text("relay")
    assert "/healthz" in text and ":3001" in text


@pytest.mark.parametrize("name", ["worker", "migrate"])
def test_compose_portless_service_disables_the_image_http_healthcheck(name):
    assert (service(name).get("healthcheck") or {}).get("disable") is True


def test_compose_migrate_waits_for_healthy_postgres_and_runs_once():
    assert depends_on("migrate").get("postgres") == "service_healthy"
    assert str(service("migrate").get("restart", "no")) in ("no", "False", "false")


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_compose_engine_part_waits_for_migrate_and_healthy_stores(name):
    deps = depends_on(name)
    assert deps.get("migrate") == "service_completed_successfully", deps
    assert deps.get("redis") == "service_healthy", deps
    assert deps.get("postgres") == "service_healthy", deps


def test_compose_front_waits_for_healthy_api_and_relay():
    deps = depends_on("front")
    assert deps.get("api") == "service_healthy" and deps.get("relay") == "service_healthy", deps


def test_compose_only_front_and_prometheus_publish_ports():
    publishing = {n for n in compose()["services"] if published_ports(n)}
    assert publishing <= {"front", "prometheus"}, publishing
    assert ("3000", "3000") in published_ports("front")


def test_compose_front_mounts_deploy_nginx_conf():
    assert ("./deploy/nginx.conf", "/etc/nginx/nginx.conf") in mounts("front")
    assert (ROOT / "deploy" / "nginx.conf").is_file()


def test_compose_prometheus_is_in_monitoring_profile_with_deploy_config():
    assert service("prometheus").get("profiles") == ["monitoring"]
    assert ("./deploy/prometheus.yml", "/etc/prometheus/prometheus.yml") in mounts("prometheus")
    for name in compose()["services"]:
        if name != "prometheus":
            assert not service(name).get("profiles"), f"{name} should start by default"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_app_env_points_at_compose_postgres_and_redis(name):
    env = service_env(name)
    assert env["DATABASE_URL"] == "postgresql://postgres:postgres@postgres:5432/orders"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    db = urlsplit(env["DATABASE_URL"])
    pg = {k: str(v) for k, v in (service("postgres").get("environment") or {}).items()}
    assert (db.hostname, db.port) == ("postgres", 5432)
    assert db.username == pg["POSTGRES_USER"] and db.password == pg["POSTGRES_PASSWORD"]
    assert db.path.lstrip("/") == pg["POSTGRES_DB"]
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_app_env_sets_only_and_all_config_variables(name):
    keys = set(service_env(name))
    unknown = keys - config_env_vars() - EXTRA_APP_ENV
    assert not unknown, f"{name} sets variables nothing reads: {unknown}"
    missing = config_env_vars() - URL_PARTS - keys
    assert not missing, f"{name} does not pass these settings through from .env: {missing}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_app_env_defaults_equal_config_defaults(name):
    env = {k: interpolate_defaults(v) for k, v in service_env(name).items()}
    got = Settings.from_env(env)
    # compose listens on every interface behind its front, and trusts that front's X-Forwarded-For
    want = dataclasses.replace(
        Settings.from_env({}),
        database_url=got.database_url,
        redis_url=got.redis_url,
        host="0.0.0.0",
        trusted_proxies=got.trusted_proxies,
    )
    assert got == want
    assert got.trusted_proxies, "the front's X-Forwarded-For must name the source address"


def yaml_strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*yaml_strings(k), *yaml_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in yaml_strings(item)]
    return [node] if isinstance(node, str) else []


def test_compose_interpolated_variables_are_in_env_example():
    pattern = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
    used = {name for text in yaml_strings(compose()) for name in pattern.findall(text)}
    assert used, "compose takes nothing from .env"
    unknown = used - set(env_example_dict())
    assert not unknown, f"docker-compose.yml reads ${{…}} not in .env.example: {unknown}"


def test_compose_api_ports_match_front_and_healthchecks():
    for name in LONG_RUNNING:
        env = service_env(name)
        assert env.get("PORT") == API_ADDR.split(":")[1], name
        assert env.get("WS_PORT") == RELAY_ADDR.split(":")[1], name


def test_compose_metrics_dir_shared_by_api_worker_relay_on_fresh_tmpfs():
    paths = {service_env(n).get("PROMETHEUS_MULTIPROC_DIR") for n in LONG_RUNNING}
    assert len(paths) == 1 and None not in paths, f"one PROMETHEUS_MULTIPROC_DIR: {paths}"
    (path,) = paths
    sources = set()
    for name in LONG_RUNNING:
        srcs = [s for s, t in mounts(name) if t == path]
        assert len(srcs) == 1, f"{name} does not mount a volume at {path}"
        sources.add(srcs[0])
    assert len(sources) == 1, f"api, worker and relay must share one volume, got {sources}"
    (volume,) = sources
    decl = (compose().get("volumes") or {}).get(volume) or {}
    opts = decl.get("driver_opts") or {}
    assert opts.get("type") == "tmpfs", "the shared metrics volume must start empty (tmpfs)"
    owner = dict(kv.partition("=")[::2] for kv in str(opts.get("o", "")).split(","))
    user = final_stage().all("USER")[-1].split(":")[0]
    assert owner.get("uid") == user, f"metrics volume uid {owner.get('uid')} != image USER {user}"
    image_env = " ".join(final_stage().all("ENV"))
    assert f"PROMETHEUS_MULTIPROC_DIR={path}" in image_env, "image and compose disagree on the dir"


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_is_multi_stage_build_then_slim_runtime():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    build, final = stages[0], stages[-1]
    assert build.base == "python:3.11-slim" and build.name == "build"
    assert final.base == "python:3.11-slim"
    build_runs = " ".join(build.all("RUN"))
    assert "build-essential" in build_runs
    assert re.search(r"pip wheel \. +(-w|--wheel-dir)[ =]/wheels", build_runs), build_runs


def test_dockerfile_final_stage_has_no_compiler_and_no_sources():
    final = final_stage()
    text = " ".join(args for kw, args in final.instructions if kw in ("RUN", "ENV", "ARG"))
    found = words(text) & COMPILERS
    assert not found, f"final stage brings a compiler: {found}"
    plain_copies = [a for a in final.all("COPY") + final.all("ADD") if "--from=" not in a]
    assert not plain_copies, (
        f"final stage copies sources instead of installing the wheel: {plain_copies}"
    )


def test_dockerfile_final_stage_installs_the_wheel_from_build_stage():
    final = final_stage()
    runs = " ".join(final.all("RUN"))
    copies = " ".join(final.all("COPY"))
    assert "from=build" in runs or "--from=build" in copies, "wheels do not come from `build`"
    assert re.search(r"pip install [^&;]*--no-index", runs), "pip install must use only /wheels"
    assert "/wheels" in runs


def test_dockerfile_final_stage_runs_as_non_root():
    users = final_stage().all("USER")
    assert users, "final stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users[-1]


def test_dockerfile_env_expose_and_healthcheck():
    final = final_stage()
    env = " ".join(final.all("ENV"))
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)
    assert set(" ".join(final.all("EXPOSE")).split()) >= {"3000", "3001"}
    checks = final.all("HEALTHCHECK")
    assert len(checks) == 1
    assert "urllib" in checks[0] and "python" in checks[0]
    assert "http://127.0.0.1:${PORT:-3000}/health" in checks[0]


def test_dockerfile_cmd_is_order_engine_up_console_script():
    final = final_stage()
    assert not final.all("ENTRYPOINT") or "order-engine" not in " ".join(final.all("ENTRYPOINT"))
    cmds = final.all("CMD")
    assert cmds, "final stage has no CMD"
    argv = json.loads(cmds[-1])  # exec form, so SIGTERM reaches the process
    assert argv == ["order-engine", "up"]
    assert argv[1] in cli_subcommands(), f"service/runtime/cli.py has no subcommand {argv[1]!r}"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert argv[0] in scripts, "CMD names a console script pyproject.toml does not declare"


def test_pyproject_declares_the_package_data_the_image_needs():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = data["package-data"]["service"]
    assert "domain/markets.toml" in patterns and "store/migrations/*.sql" in patterns


# --------------------------------------------------------------------------- .dockerignore


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        rx = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                rx += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                rx += ".*"
                i += 2
            elif pattern[i] == "*":
                rx += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                rx += "[^/]"
                i += 1
            elif pattern[i] == "[":
                j = pattern.index("]", i)
                rx += pattern[i : j + 1]
                i = j + 1
            else:
                rx += re.escape(pattern[i])
                i += 1
        rules.append((negate, re.compile(rx)))
    return rules


def docker_ignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for negate, rx in dockerignore_rules():
        if any(rx.fullmatch(p) for p in prefixes):
            ignored = not negate
    return ignored


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".git/config",
        "build/lib.linux-x86_64-cpython-311/engine_core/fsm.so",
        "engine_core/fsm.c",
        "engine_core/fsm.cpython-311-x86_64-linux-gnu.so",
        "service/__pycache__/config.cpython-311.pyc",
        "tests/conftest.py",
    ],
)
def test_dockerignore_keeps_secrets_and_build_artifacts_out(path):
    assert docker_ignored(path), path


def test_dockerignore_keeps_every_package_input():
    inputs = ["pyproject.toml", "setup.py", "README.md"]
    for pattern in (
        "engine_core/*.pyx",
        "engine_core/*.pxd",
        "engine_core/*.pyi",
        "engine_core/*.py",
        "service/simulator/*.pyx",
        "service/simulator/*.pyi",
        "service/**/*.py",
        "service/**/*.toml",
        "service/store/migrations/*.sql",
        "bench/**/*.py",
    ):
        inputs += [str(p.relative_to(ROOT)) for p in ROOT.glob(pattern)]
    assert any(p.endswith(".pyx") for p in inputs) and "service/domain/markets.toml" in inputs
    dropped = [p for p in inputs if docker_ignored(p)]
    assert not dropped, f".dockerignore drops files the wheel needs: {dropped}"


# --------------------------------------------------------------------------- nginx front


@pytest.mark.parametrize(
    ("path", "upgrade", "target"),
    [
        ("/api/orders/execute", "websocket", RELAY_ADDR),
        ("/api/orders/execute", "WebSocket", RELAY_ADDR),
        ("/api/orders/execute", None, API_ADDR),  # the order POST
        ("/ws", "websocket", RELAY_ADDR),
        ("/orders", None, API_ADDR),
        ("/orders/5b0c1e8e-0000-4000-8000-000000000000/events", None, API_ADDR),
        ("/quote", None, API_ADDR),
        ("/markets", None, API_ADDR),
        ("/health", None, API_ADDR),
        ("/metrics", None, API_ADDR),
        ("/sim/price", None, API_ADDR),
    ],
)
def test_nginx_routes_request_to_expected_backend(path, upgrade, target):
    got, _ = Front.load().route(path, upgrade)
    assert got == target, f"{path} (Upgrade: {upgrade}) goes to {got}, not {target}"


@pytest.mark.parametrize("path", ["/ws", "/api/orders/execute"])
def test_nginx_websocket_location_forwards_the_upgrade(path):
    front = Front.load()
    _, loc = front.route(path, "websocket")
    version = front.effective(loc, "proxy_http_version")
    assert version and version[-1].args == ["1.1"], "WebSocket needs proxy_http_version 1.1"
    headers = {d.args[0].lower(): d.args[1] for d in front.effective(loc, "proxy_set_header")}
    request = {"http_upgrade": "websocket"}
    assert front.expand(headers.get("upgrade", ""), loc, request) == "websocket"
    assert front.expand(headers.get("connection", ""), loc, request).lower() == "upgrade"


def test_nginx_listens_on_the_published_port_and_can_resolve_backends():
    front = Front.load()  # asserts a server on :3000, the container port compose publishes
    if front.uses_variables():
        assert find(front.http, "resolver") or find(front.server, "resolver"), (
            "proxy_pass with variables needs a resolver (Docker DNS is 127.0.0.11)"
        )
    hosts = {
        front.route(p, u)[0].split(":")[0]
        for p, u in [("/", None), ("/ws", "websocket"), ("/api/orders/execute", "websocket")]
    }
    assert hosts <= set(compose()["services"]), f"nginx names unknown services: {hosts}"


# --------------------------------------------------------------------------- prometheus


def test_prometheus_scrapes_the_api_metrics():
    conf = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    targets = [
        (job.get("metrics_path", "/metrics"), job.get("scheme", "http"), target)
        for job in conf.get("scrape_configs") or []
        for static in job.get("static_configs") or []
        for target in static.get("targets") or []
    ]
    assert ("/metrics", "http", API_ADDR) in targets, targets
