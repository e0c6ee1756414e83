"""The deployment files' tests' loaders: the variables and subcommands service/config.py and
the CLI declare (from their syntax trees), .env.example, docker-compose.yml and the Dockerfile's
stages, and the names they share."""

from __future__ import annotations

import ast
import dataclasses
import re
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]

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
