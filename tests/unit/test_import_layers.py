"""Who may import whom (pyproject's [tool.importlinter] contracts): the layers engine_core <
service.domain < service.store < worker / api / relay < runtime, a pure core and domain, a
client apart, no cycle in any package, and service never importing bench or tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
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
