"""Static checks of the Dockerfile: a build stage, then a slim non-root runtime that installs
the wheel and runs `order-engine up`; and the package data the image needs.

No Docker engine is needed: the files are parsed and checked against each other and against
service/config.py (the only reader of the engine's settings).
"""

from __future__ import annotations

import json
import re
import tomllib

from tests.helpers.deploy_files import (
    COMPILERS,
    ROOT,
    cli_subcommands,
    dockerfile_stages,
    final_stage,
    words,
)

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
