"""The Postman collection (postman/) against the OpenAPI document the API serves: every
request is an operation of the document, every operation has a request, bodies fit their
schemas, and the brief's flow (execute, then read back by the saved id) is there."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from service.api.openapi import build_openapi
from service.config import Settings
from service.domain.markets import load_markets

ROOT = Path(__file__).resolve().parents[3]
COLLECTION = ROOT / "postman" / "order-engine.postman_collection.json"
ENVIRONMENT = ROOT / "postman" / "order-engine.postman_environment.json"
METHODS = {"get", "post", "put", "patch", "delete"}
VAR = re.compile(r"\{\{([^{}]+)\}\}")


@cache
def openapi() -> dict[str, Any]:
    settings = Settings.from_env({"SIM_ENABLED": "1"})
    return build_openapi(settings, load_markets(settings.markets_file))


@cache
def collection() -> dict[str, Any]:
    return json.loads(COLLECTION.read_text())


@cache
def environment() -> dict[str, Any]:
    return json.loads(ENVIRONMENT.read_text())


def requests(items: list[dict[str, Any]] | None = None, trail: str = "") -> list[tuple[str, Any]]:
    """(folder/name, item) of every request, depth first, in the collection's order."""
    out = []
    for item in collection()["item"] if items is None else items:
        name = f"{trail}/{item['name']}"
        if "item" in item:
            out += requests(item["item"], name)
        else:
            out.append((name, item))
    return out


def request_path(item: dict[str, Any]) -> str:
    url = item["request"]["url"]
    raw = url["raw"] if isinstance(url, dict) else url
    assert raw.startswith("{{baseUrl}}/"), raw
    path = raw.removeprefix("{{baseUrl}}").split("?", 1)[0]
    if isinstance(url, dict):  # Postman sends url.path; it must say the same as raw
        assert "/" + "/".join(url["path"]) == path, (url["path"], raw)
    return path


def match_operation(method: str, path: str) -> str | None:
    """The OpenAPI path template a request's path matches ({{var}} fills any {param})."""
    segments = path.strip("/").split("/")
    for template, item in openapi()["paths"].items():
        parts = template.strip("/").split("/")
        if len(parts) != len(segments) or method.lower() not in item:
            continue
        if all(
            p == s or (p.startswith("{") and VAR.fullmatch(s))
            for p, s in zip(parts, segments, strict=True)
        ):
            return template
    return None


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = openapi()
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


REQUESTS = requests()


def test_collection_is_postman_v2_1_with_requests():
    info = collection()["info"]
    assert info["schema"].endswith("/collection/v2.1.0/collection.json")
    assert info["name"] and len(REQUESTS) >= 13


@pytest.mark.parametrize(("name", "item"), REQUESTS, ids=[n for n, _ in REQUESTS])
def test_request_is_an_operation_of_the_openapi_document(name, item):
    method = item["request"]["method"]
    path = request_path(item)
    assert method.lower() in METHODS, name
    assert match_operation(method, path), f"{name}: {method} {path} is not in /openapi.json"


def answers_json(op: dict[str, Any]) -> bool:
    """An API operation (not a page or a static file): some 2xx answer is JSON."""
    return any(
        "application/json" in (resolve(r).get("content") or {})
        for code, r in op["responses"].items()
        if code.startswith("2")
    )


def test_every_openapi_operation_answering_json_has_a_request():
    covered = {
        (item["request"]["method"].lower(), match_operation(item["request"]["method"], path))
        for _, item in REQUESTS
        for path in [request_path(item)]
    }
    operations = {
        (method, template)
        for template, item in openapi()["paths"].items()
        for method in item
        if method in METHODS and answers_json(item[method])
    }
    assert ("get", "/metrics") in covered  # text, not JSON: covered all the same
    missing = operations - covered
    assert not missing, f"no Postman request for {sorted(missing)}"


def test_the_brief_endpoints_are_all_there():
    have = {(item["request"]["method"], request_path(item)) for _, item in REQUESTS}
    for method, path in [
        ("POST", "/orders"),
        ("POST", "/api/orders/execute"),
        ("GET", "/orders"),
        ("GET", "/orders/{{orderId}}"),
        ("GET", "/orders/{{orderId}}/events"),
        ("GET", "/quote"),
        ("GET", "/markets"),
        ("POST", "/sim/launch"),
        ("POST", "/sim/price"),
        ("GET", "/health"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
    ]:
        assert (method, path) in have, (method, path)
    assert any(m == "DELETE" and p.startswith("/orders/{{") for m, p in have)


@pytest.mark.parametrize(
    ("name", "item"),
    [(n, i) for n, i in REQUESTS if "body" in i["request"]],
    ids=[n for n, i in REQUESTS if "body" in i["request"]],
)
def test_request_body_fits_the_operation_schema(name, item):
    method = item["request"]["method"]
    template = match_operation(method, request_path(item))
    assert template
    op = openapi()["paths"][template][method.lower()]
    schema = resolve(op["requestBody"]["content"]["application/json"]["schema"])
    body = json.loads(item["request"]["body"]["raw"])
    props = schema.get("properties", {})
    assert set(body) <= set(props), f"{name}: unknown fields {set(body) - set(props)}"
    assert set(schema.get("required", [])) <= set(body), f"{name}: missing required fields"
    for key, value in body.items():
        enum = resolve(props[key]).get("enum")
        if enum and isinstance(value, str) and not VAR.search(value):
            assert value in enum, f"{name}: {key}={value!r} not in {enum}"
    headers = {h["key"].lower(): h["value"] for h in item["request"]["header"]}
    assert headers.get("content-type") == "application/json", name


def test_query_parameters_are_declared_by_the_operation():
    for name, item in REQUESTS:
        method = item["request"]["method"]
        template = match_operation(method, request_path(item))
        assert template
        declared = {
            p["name"]
            for p in [
                *openapi()["paths"][template].get("parameters", []),
                *openapi()["paths"][template][method.lower()].get("parameters", []),
            ]
            if resolve(p)["in"] == "query"
        }
        used = {q["key"] for q in item["request"]["url"].get("query", [])}
        assert used <= declared, f"{name}: undeclared query parameters {used - declared}"


def test_brief_flow_saves_the_order_id_then_reads_it_back():
    flow = collection()["item"][0]["item"]
    first, second = flow[0], flow[1]
    assert (first["request"]["method"], request_path(first)) == ("POST", "/api/orders/execute")
    test_script = "\n".join(
        line for ev in first["event"] if ev["listen"] == "test" for line in ev["script"]["exec"]
    )
    assert re.search(
        r"pm\.(environment|collectionVariables)\.set\(\"orderId\", order\.id\)", test_script
    )
    assert (second["request"]["method"], request_path(second)) == ("GET", "/orders/{{orderId}}")


def test_every_variable_is_defined_by_the_environment_or_the_collection():
    text = COLLECTION.read_text()
    used = {v for v in VAR.findall(text) if not v.startswith("$")}  # $guid, $timestamp: Postman's
    env = {v["key"] for v in environment()["values"]}
    coll = {v["key"] for v in collection().get("variable", [])}
    assert used <= env | coll, f"undefined variables: {used - env - coll}"
    assert {"baseUrl", "wsUrl", "clientId", "apiKey"} <= env
    assert environment()["_postman_variable_scope"] == "environment"


def test_api_key_is_sent_as_x_api_key_from_the_environment():
    auth = collection()["auth"]
    assert auth["type"] == "apikey"
    values = {e["key"]: e["value"] for e in auth["apikey"]}
    assert values == {"key": "X-API-Key", "value": "{{apiKey}}", "in": "header"}
    secret = [v for v in environment()["values"] if v["key"] == "apiKey"]
    assert secret and secret[0]["value"] == "" and secret[0]["type"] == "secret"
