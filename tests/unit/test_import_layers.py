"""Who may import whom (pyproject's [tool.importlinter] contracts): the layers engine_core <
service.domain < service.store < worker / api / relay < runtime, a pure core and domain, a
client apart, no cycle in any package, and service never importing bench or tests."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    # In a process of its own: import-linter reconfigures logging (the loggers of later
    # tests in this process would go quiet).
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    run = subprocess.run(
        [exe, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "0 broken" in out and "BROKEN" not in out


def test_import_contracts_cover_every_service_package() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    packages = sorted(p.name for p in (ROOT / "service").iterdir() if (p / "__init__.py").exists())
    assert packages and all(f'"service.{p}' in text for p in packages), packages


def test_every_package_says_what_it_owns_and_may_import() -> None:
    packages = [ROOT / "engine_core", ROOT / "service", ROOT / "bench"]
    packages += sorted(p for p in (ROOT / "service").iterdir() if (p / "__init__.py").exists())
    missing = [
        str(p.relative_to(ROOT))
        for p in packages
        if "May import" not in (ast.get_docstring(ast.parse((p / "__init__.py").read_text())) or "")
    ]
    assert missing == []


def test_test_modules_import_helpers_never_each_other() -> None:
    """Shared helpers live in tests/helpers (or a non-test module beside its tests)."""
    crossing = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            crossing += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in names
                if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")
            ]
    assert crossing == []


def test_no_contract_carries_an_exception() -> None:
    """Every layer rule holds without `ignore_imports`: a new exception is a design change."""
    assert "ignore_imports" not in (ROOT / "pyproject.toml").read_text()
