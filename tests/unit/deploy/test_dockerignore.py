"""Static checks of .dockerignore: secrets and build artifacts stay out, every package input
stays in (Docker's matching rules simulated).

No Docker engine is needed: the files are parsed and checked against each other and against
service/config.py (the only reader of the engine's settings).
"""

from __future__ import annotations

import re

import pytest

from tests.helpers.deploy_files import (
    ROOT,
)

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
