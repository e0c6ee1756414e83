"""gunicorn's gthread worker, with each request read in its event loop before a thread takes it.

Stock gthread hands a new connection to a thread at once: the thread waits up to 5 s for a
first byte, then reads the whole request head blocking. 200 idle connections, or 17 that send
a header byte a second, hold every thread, and the API stops answering. Here the event loop
(one thread, non-blocking sockets) reads the request head, and a body of known length up to
MAX_BODY_BYTES, into a buffer; only a complete request goes to a thread, with the buffered bytes
given back to gunicorn's parser. So a slow or idle connection costs a buffer, never a thread.

Limits, each answered with the contract's JSON error and the connection closed:
- at most API_MAX_CONNECTIONS_PER_SOURCE open connections from one address per API process
  (429 on accept), so one address can't take all of `worker_connections`;
- a request head (and its body) must arrive within HEADER_TIMEOUT_S of its first byte, or of
  the accept for a new connection (408; a connection that sent nothing is just closed);
- a head larger than MAX_HEAD_BYTES: 431;
- a chunked body (`Transfer-Encoding`): 411, send Content-Length;
- a Content-Length above MAX_BODY_BYTES (the batch limit for POST /orders/batch): 413,
  before any of the body is read.

gunicorn's own errors (malformed request line 400, 414, 431, ...) are written by
`gunicorn.util.write_error` as an HTML page: this module replaces it, for the worker
processes, with the contract's `{"error": {"code", "message"}}` (no exception text on a 500).
"""

from __future__ import annotations

import collections
import errno
import os
import selectors
import time
from functools import partial
from typing import Any

import orjson
from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from service.api.batch import batch_body_limit

MAX_HEAD_BYTES = 32 * 1024
_RECV = 65_536

CODES = {
    400: "bad_request",
    403: "forbidden",
    408: "request_timeout",
    411: "length_required",
    413: "body_too_large",
    414: "uri_too_long",
    417: "expectation_failed",
    429: "too_many_connections",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
}
REASONS = {
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
}


def error_bytes(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 response with the contract's error body; closes the connection."""
    body = orjson.dumps({"error": {"code": CODES.get(status, "error"), "message": message}})
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for gunicorn.util.write_error: the message is gunicorn's for a client's error
    (cut to 200 characters), only the reason for a server's."""
    message = reason if status_int >= 500 or not mesg else f"{reason}: {mesg[:200]}"
    util.write_nonblock(sock, error_bytes(status_int, reason, message))


util.write_error = write_json_error


def head_verdict(buf: bytes | bytearray, max_body: int) -> tuple[int, str] | bool:
    """False: wait for more. True: complete, hand it over. (status, message): refuse it."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > MAX_HEAD_BYTES:
            return 431, f"the request head is larger than {MAX_HEAD_BYTES} bytes"
        return False
    length: int | None = None
    lines = bytes(buf[:end]).split(b"\r\n")
    if b" /orders/batch" in lines[0]:
        max_body = batch_body_limit(max_body)
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding":
            return 411, "send the body with Content-Length (chunked bodies are not read)"
        if name == b"content-length":
            text = value.strip()
            if not text.isdigit() or length is not None:
                return True  # gunicorn's parser answers it (400)
            length = int(text)
    if length is None:
        return True
    if length > max_body:
        return 413, f"the body is larger than {max_body} bytes"
    return len(buf) - end - 4 >= length


class CountedConn(TConn):
    """A connection that leaves its source's count when closed (every path ends in close)."""

    def __init__(self, counts: collections.Counter[str], source: str, *args: Any) -> None:
        super().__init__(*args)
        self.counts = counts
        self.source = source
        self.counted = True
        counts[source] += 1

    def close(self, graceful: bool = False) -> None:
        if self.counted:
            self.counted = False
            self.counts[self.source] -= 1
            if self.counts[self.source] <= 0:
                del self.counts[self.source]
        super().close(graceful)


class GuardedThreadWorker(ThreadWorker):
    def init_process(self) -> None:
        self.heading: dict[TConn, float] = {}  # connection -> deadline of its request
        self.header_timeout = float(os.environ.get("HEADER_TIMEOUT_S") or 10)
        self.max_body = int(os.environ.get("MAX_BODY_BYTES") or 16_384)
        self.per_source_max = int(os.environ.get("API_MAX_CONNECTIONS_PER_SOURCE") or 256)
        self.per_source: collections.Counter[str] = collections.Counter()
        super().init_process()

    def accept(self, listener: Any) -> None:
        try:
            sock, addr = listener.accept()
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        source = str(addr[0]) if isinstance(addr, tuple) else "unix"
        if self.per_source[source] >= self.per_source_max:
            try:
                sock.setblocking(False)
                sock.send(
                    error_bytes(
                        429,
                        "Too Many Requests",
                        f"more than {self.per_source_max} connections from this address",
                    )
                )
            except OSError:
                pass
            sock.close()
            return
        self.nr_conns += 1
        conn = CountedConn(self.per_source, source, self.cfg, sock, addr, listener.getsockname())
        conn.head = bytearray()
        self.heading[conn] = time.monotonic() + self.header_timeout
        self.poller.register(sock, selectors.EVENT_READ, partial(self._on_data, conn))

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        """A kept-alive connection sends its next request: read it here too."""
        self.keepalived_conns.remove(conn)
        conn.head = bytearray()
        self.heading[conn] = time.monotonic() + self.header_timeout
        self.poller.modify(client, selectors.EVENT_READ, partial(self._on_data, conn))
        self._on_data(conn, client)

    def _on_data(self, conn: TConn, client: Any) -> None:
        try:
            data = conn.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not data:
            self._drop(conn)
            return
        conn.head += data
        verdict = head_verdict(conn.head, self.max_body)
        if verdict is False:
            return
        if verdict is not True:
            status, message = verdict
            self._refuse(conn, status, message)
            return
        self._leave(conn)
        conn.sock.setblocking(True)
        conn.init()  # the parser (plain HTTP/1.x: no read happens here)
        conn.parser.unreader.unread(bytes(conn.head))
        conn.head = None
        conn.data_ready = True
        self.enqueue_req(conn)

    def _leave(self, conn: TConn) -> None:
        self.heading.pop(conn, None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _drop(self, conn: TConn) -> None:
        self._leave(conn)
        self.nr_conns -= 1
        conn.close()

    def _refuse(self, conn: TConn, status: int, message: str) -> None:
        try:
            conn.sock.send(error_bytes(status, REASONS.get(status, "Bad Request"), message))
        except OSError:
            pass
        self._drop(conn)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn, deadline in list(self.heading.items()):
            if now >= deadline or (not self.alive and not conn.head):
                if conn.head:
                    self._refuse(
                        conn, 408, f"the request did not arrive within {self.header_timeout:g} s"
                    )
                else:
                    self._drop(conn)
