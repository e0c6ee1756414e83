"""docs/contract.md is the project's copy of the external contract: every endpoint (method
and path) of the OpenAPI document the API serves is in it, and every endpoint it lists is
served, except those listed below as not built yet."""

from __future__ import annotations

import re
from pathlib import Path

from service.api.openapi import build_openapi
from service.config import Settings
from service.domain.markets import load_markets

CONTRACT = Path(__file__).resolve().parents[3] / "docs" / "contract.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Endpoints of the contract still being built (allowed to be missing from /openapi.json
# until they are served; then they are checked like any other). None at the moment.
NOT_BUILT_YET: set[tuple[str, str]] = set()


def _normal(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/") or "/")


def served() -> set[tuple[str, str]]:
    settings = Settings.from_env({})
    doc = build_openapi(settings, load_markets(settings.markets_file))
    return {
        (method.upper(), _normal(path))
        for path, ops in doc["paths"].items()
        for method in ops
        if method.upper() in METHODS
    }


def in_contract() -> set[tuple[str, str]]:
    text = CONTRACT.read_text()
    found = re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)", text)
    found += re.findall(r"(?<![\w/])(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)", text)
    return {(m, _normal(p.rstrip(".,;:"))) for m, p in found}


def test_every_served_endpoint_is_in_the_contract() -> None:
    assert sorted(served() - in_contract()) == []


def test_every_endpoint_of_the_contract_is_served() -> None:
    assert sorted(in_contract() - served() - NOT_BUILT_YET) == []
