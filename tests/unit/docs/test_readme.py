"""The README and docs/ as a newcomer reads them: every setting the code reads is in the
configuration table, and every relative link (file or #anchor) leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


def settings_read(path: Path) -> set[str]:
    """Variables a module reads: env.get("X"), _int(env, "X", …), NAME_VAR = "X"."""
    text = path.read_text()
    found = set(re.findall(r'env(?:\.get\(|,)\s*"([A-Z][A-Z0-9_]+)"', text))
    found |= set(re.findall(r'_VAR\s*=\s*"([A-Z][A-Z0-9_]+)"', text))
    for group in re.findall(r"_PARTS\s*=\s*\(([^)]*)\)", text):
        found |= set(re.findall(r'"([A-Z][A-Z0-9_]+)"', group))
    return found


def config_table() -> str:
    text = README.read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_every_setting_is_in_the_configuration_table() -> None:
    read = settings_read(ROOT / "service" / "config.py")
    read |= settings_read(ROOT / "service" / "runtime" / "embedded.py")
    assert {"SIM_TICK_MS", "SIM_BAND_BPS", "WS_MAX_CONNECTIONS_PER_CLIENT"} <= read
    assert "EMBEDDED_DATA_DIR" in read and "QUEUE_RATE_LIMIT_DURATION_MS" in read
    table = config_table()
    listed = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    assert sorted(read - listed) == []


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    out = set()
    for heading in re.findall(r"(?m)^#{1,6} (.+)$", path.read_text()):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # not inside code blocks
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("doc", [README, *DOCS], ids=lambda p: p.name)
def test_links_stay_in_the_repository_and_resolve(doc: Path) -> None:
    for target in links(doc):
        if re.match(r"[a-z]+://", target):
            assert target.startswith(("http://127.0.0.1", "http://localhost")), target
            continue
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        assert dest.is_relative_to(ROOT), f"{doc.name}: {target} leaves the repository"
        assert dest.exists(), f"{doc.name}: {target} does not exist"
        if anchor:
            assert anchor in anchors(dest), f"{doc.name}: no heading #{anchor} in {dest.name}"


def test_readme_starts_with_the_two_commands() -> None:
    text = README.read_text()
    first = text.index('python -m pip install -e ".[embedded]" && order-engine up')
    second = text.index(
        'python -m pip install -e ".[dev]" && python -m pytest -n 2 --cov --cov-report=term'
    )
    assert first < second < text.index("## Try it")
