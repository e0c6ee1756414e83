"""The .pyi stubs of the compiled modules agree with the built modules (mypy.stubtest: every
public name, its kind and its signature), so mypy checks callers against what really runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ALLOWLIST = Path(__file__).with_name("stubtest_allowlist.txt")
COMPILED = sorted(
    [*(ROOT / "engine_core").glob("*.pyx"), *(ROOT / "service/simulator").glob("*.pyx")]
)


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_every_compiled_module_has_a_stub():
    assert COMPILED
    assert [p for p in COMPILED if not p.with_suffix(".pyi").exists()] == []


def test_stubs_match_the_built_modules():
    modules = [_module(p) for p in COMPILED] + ["engine_core.pools"]
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--concise", "--ignore-disjoint-bases",
         "--allowlist", str(ALLOWLIST), *modules],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
