"""Writing to one WebSocket connection, and reading what a client should not send."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State


def sender(ws: ServerConnection) -> Callable[[bytes], Awaitable[None]]:
    async def send(message: bytes) -> None:
        await ws.send(message, text=True)

    async def many(messages: list[bytes]) -> None:
        """Several text frames, one socket write (as `ws.send` does for one: websockets'
        documented send_context pattern, the frames joined before they are written)."""
        async with ws.send_context():
            protocol = ws.protocol
            for message in messages:
                protocol.send_text(message)
            if all(protocol.writes):  # no end-of-stream marker among them
                protocol.writes = [b"".join(protocol.writes)]

    protocol = ws.protocol
    pending: list[bytes] = []  # frames taken by `now`, written together by `flush`
    size = [0]  # their bytes

    def now(message: bytes) -> bool:
        """Take one text frame to write with the next `flush` (the hub's, once it has handed
        on a pub/sub message: one socket write for all of it), unless the connection is not
        open or has DIRECT_MAX_BUFFERED bytes waiting (then the pump sends it, waiting for
        the socket to drain)."""
        transport = ws.transport
        if (
            protocol.state is not State.OPEN
            or transport.get_write_buffer_size() + size[0] > DIRECT_MAX_BUFFERED
        ):
            return False
        if protocol.writes or protocol.expect_continuation_frame:
            flush()  # behind what websockets has not written yet: in order, at once
            try:
                protocol.send_text(message)
                ws.send_data()
            except Exception:  # noqa: BLE001 - the connection is going; the pump finds out
                return False
            return True
        frame = text_frame(message)
        pending.append(frame)
        size[0] += len(frame)
        return True

    def flush() -> None:
        """Write the frames `now` took, in one write, as websockets' `broadcast` writes."""
        if not pending:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        size[0] = 0
        try:
            ws.transport.write(data)
        except Exception:  # noqa: BLE001 - they count as sent: end the connection, whose
            ws.transport.abort()  # client resumes from the cursor it last got

    send.many = many  # type: ignore[attr-defined]  # read by hub.pump
    send.now = now  # type: ignore[attr-defined]
    send.flush = flush  # type: ignore[attr-defined]
    return send


DIRECT_MAX_BUFFERED = 64 * 1024


def text_frame(payload: bytes) -> bytes:
    """One unfragmented, unmasked text frame (a server's, no extension: the relay serves
    with compression=None), as websockets' Frame.serialize writes it."""
    n = len(payload)
    if n < 126:
        return _FIN_TEXT + bytes((n,)) + payload
    if n < 65536:
        return _FIN_TEXT + _LEN16 + n.to_bytes(2, "big") + payload
    return _FIN_TEXT + _LEN64 + n.to_bytes(8, "big") + payload


_FIN_TEXT = b"\x81"
_LEN16 = b"\x7e"
_LEN64 = b"\x7f"


MAX_CLIENT_MESSAGES = 16


async def discard_incoming(ws: ServerConnection) -> None:
    """Clients have nothing to say; reading keeps pings, pongs and the close frame flowing.
    One that keeps sending anyway is closed with a reason (1008, policy violation)."""
    sent = 0
    try:
        async for _ in ws:
            sent += 1
            if sent > MAX_CLIENT_MESSAGES:
                await ws.close(1008, "this socket only sends: stop sending messages")
                return
    except ConnectionClosed:
        pass
