"""Reading a request: the JSON body (size and media type checked before parsing) and the
query string. Every failure is the contract's error (413, 415, 400)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import falcon
import orjson

from service.errors import ApiError


def query_params(req: falcon.Request) -> Mapping[str, str]:
    # A repeated parameter arrives as a list; validation refuses it, naming the parameter.
    return cast(Mapping[str, str], req.params)


def read_json(req: falcon.Request, max_bytes: int) -> Any:
    length = req.content_length
    if length is None and req.get_header("Transfer-Encoding"):
        raise ApiError(411, "length_required", "send the body with Content-Length (not chunked)")
    if length is not None and length > max_bytes:
        raise ApiError(413, "body_too_large", f"the body is larger than {max_bytes} bytes")
    ctype = (req.content_type or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = req.bounded_stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ApiError(413, "body_too_large", f"the body is larger than {max_bytes} bytes")
    try:
        return orjson.loads(raw)
    except ValueError:
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
