"""What the API's gunicorn worker does with a request before a thread takes it."""

from __future__ import annotations

import json

import pytest

from service.api.guarded_worker import MAX_HEAD_BYTES, error_bytes, head_verdict


@pytest.mark.parametrize(
    ("data", "verdict"),
    [
        (b"GET /health HTTP/1.1\r\nHost: x", False),
        (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"POST /orders HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", False),
        (b"POST /orders HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", True),
        (b"POST /orders HTTP/1.1\r\ncontent-length: x\r\n\r\n", True),  # gunicorn answers 400
        (b"POST /orders HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
        (b"POST /orders HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", 413),
        (b"POST /orders/batch HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", False),
        (b"POST /orders/batch HTTP/1.1\r\nContent-Length: 9999999\r\n\r\n", 413),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD_BYTES, 431),
    ],
)
def test_head_verdict(data: bytes, verdict: bool | int) -> None:
    got = head_verdict(data, 16_384)
    if isinstance(verdict, bool):
        assert got is verdict
    else:
        assert isinstance(got, tuple) and got[0] == verdict


def test_error_bytes_are_the_contracts_json() -> None:
    raw = error_bytes(431, "Request Header Fields Too Large", "too large")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == {"error": {"code": "headers_too_large", "message": "too large"}}
