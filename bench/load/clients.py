"""Light load-generating clients for the end-to-end runs, cheap enough per request that the
client is not what is measured on a 2-core machine: raw HTTP/1.1 keep-alive over asyncio
streams, and a minimal WebSocket reader (handshake, then unmasked server frames parsed in
`data_received`, no task or future per message)."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import time
from collections.abc import Callable
from urllib.parse import urlparse

import orjson


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def percentiles_ms(values: list[float], ps: tuple[float, ...] = (50, 90, 99, 99.9)) -> dict:
    out = {}
    for p in ps:
        v = percentile(values, p)
        out[f"p{p:g}"] = None if v is None else round(v * 1000, 2)
    return out


class Progress:
    """A one-line progress bar on stderr (plain text; nothing when not a terminal unless
    forced)."""

    def __init__(self, label: str, total: int, enabled: bool = True) -> None:
        self.label = label
        self.total = max(1, total)
        self.enabled = enabled
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, done: int, extra: str = "", force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        width = 30
        frac = min(1.0, done / self.total)
        bar = "#" * int(frac * width) + "." * (width - int(frac * width))
        rate = done / max(1e-9, now - self.start)
        sys.stderr.write(
            f"\r  {self.label:<12} [{bar}] {done}/{self.total} {rate:8.0f}/s {extra}   "
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


# --------------------------------------------------------------------------- HTTP


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; POST JSON, read the JSON answer."""

    def __init__(self, url: str) -> None:
        u = urlparse(url)
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self._open()
        assert self.reader is not None and self.writer is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            self.writer.write(head + body)
            raw = await self.reader.readuntil(b"\r\n\r\n")
            status = int(raw[9:12])
            length = 0
            close = False
            for line in raw.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                lname = name.strip().lower()
                if lname == b"content-length":
                    length = int(value)
                elif lname == b"connection" and value.strip().lower() == b"close":
                    close = True
            data = await self.reader.readexactly(length) if length else b""
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            raise
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# --------------------------------------------------------------------------- WebSocket


class WsReader(asyncio.Protocol):
    """Reads text messages of one WebSocket connection; calls on_message(bytes, t_recv)."""

    def __init__(self, path: str, host: str, on_message: Callable[[bytes, float], None]) -> None:
        self.path = path
        self.host = host
        self.on_message = on_message
        self.buf = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.messages = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self.buf
        buf += data
        if not self.upgraded.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[9:12])
            del buf[: end + 4]
            if status != b"101":
                self.upgraded.set_exception(ConnectionError(f"upgrade refused: {status!r}"))
                return
            self.upgraded.set_result(None)
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            hdr = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                hdr = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                hdr = 10
            if n - pos < hdr + length:
                break
            opcode = b0 & 0x0F
            payload = bytes(buf[pos + hdr : pos + hdr + length])
            pos += hdr + length
            if opcode == 1 or opcode == 2:
                self.messages += 1
                self.on_message(payload, now)
            elif opcode == 9 and self.transport is not None:  # ping -> masked pong
                self._send(0xA, payload)
            elif opcode == 8:
                if self.transport is not None:
                    self.transport.close()
        del buf[:pos]

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        assert self.transport is not None
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(exc or ConnectionError("closed before upgrade"))
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def ws_connect(url: str, on_message: Callable[[bytes, float], None]) -> WsReader:
    u = urlparse(url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    path = u.path + ("?" + u.query if u.query else "")
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(
        lambda: WsReader(path, f"{host}:{port}", on_message), host, port
    )
    await asyncio.wait_for(proto.upgraded, 30)
    return proto


def message_payload(raw: bytes) -> dict:
    payload: dict = orjson.loads(raw)["payload"]
    return payload
