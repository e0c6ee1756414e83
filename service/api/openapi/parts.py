"""Building blocks of the OpenAPI document: references, JSON bodies, the shared error
responses and parameters, and validation's patterns anchored for JSON Schema."""

from __future__ import annotations

from typing import Any

from service.api import validation as v

JSON = "application/json"
VENUES = ("raydium", "meteora")
FILL_VENUES = (*VENUES, "internal")

# validation.py's regexes, anchored (JSON Schema patterns are not anchored by themselves)
CLIENT_ID_PATTERN = "^[A-Za-z0-9_.:@-]{1,64}$"
CLIENT_ORDER_ID_PATTERN = "^[A-Za-z0-9_.:-]{1,64}$"
# fields.DECIMAL_RE narrowed to what it lets through as an amount: no '-', and at least
# one non-zero digit before the exponent (0, 0.0, 0e5 are refused whatever their form)
DECIMAL_PATTERN = (
    r"^\+?(?:[0-9]*[1-9][0-9]*(?:\.[0-9]*)?|[0-9]*\.[0-9]*[1-9][0-9]*)(?:[eE][+-]?[0-9]+)?$"
)
LIMIT_PATTERN = "^[0-9]{1,6}$"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def resp(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def json_body(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


DECIMAL_STRING = {"type": "string", "description": 'a decimal string, e.g. "1.5"'}
DECIMAL_STRING_OR_NULL = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}


def error_response(description: str, **headers: str) -> dict[str, Any]:
    out = json_body(ref("Error"), description)
    if headers:
        out["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return out


RESPONSES: dict[str, Any] = {
    "BadRequest": error_response("bad input; `field` names the parameter or field at fault"),
    "Unauthorized": error_response(
        "no API key or an unknown one", **{"WWW-Authenticate": "Bearer"}
    ),
    "Forbidden": error_response("clientId is not the API key's client"),
    "NotFound": error_response("no such order, or not yours"),
    "Conflict": error_response("conflicts with the current state"),
    "TooLarge": error_response("the body is larger than MAX_BODY_BYTES"),
    "NotJson": error_response("the body is not application/json"),
    "RateLimited": error_response(
        "over RATE_LIMIT_PER_MIN for this client or RATE_LIMIT_PER_SOURCE_PER_MIN for its address",
        **{"Retry-After": "seconds"},
    ),
    "Unavailable": error_response(
        "a dependency (PostgreSQL, or the market's worker) is unavailable",
        **{"Retry-After": "seconds"},
    ),
}


def common(*codes: str) -> dict[str, Any]:
    names = {
        "400": "BadRequest",
        "401": "Unauthorized",
        "403": "Forbidden",
        "404": "NotFound",
        "409": "Conflict",
        "413": "TooLarge",
        "415": "NotJson",
        "429": "RateLimited",
        "503": "Unavailable",
    }
    return {code: resp(names[code]) for code in codes}


def blank_or(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def query_param(name: str, schema: dict[str, Any], description: str, required: bool = False) -> Any:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


ORDER_ID_PARAM = {
    "name": "order_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
    "description": "the order's id (a UUID); anything else is 404",
}
IDEMPOTENCY_PARAM = {
    "name": v.IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": CLIENT_ORDER_ID_PATTERN, "maxLength": 64},
    "description": "idempotency key when the body has no clientOrderId (must equal it if both)",
}
