"""What the relay relies on inside websockets beyond its public API (relay/sending.py: the
batched and the direct write): pyproject pins websockets to the major these pass on."""

from __future__ import annotations

import websockets
from websockets.asyncio.connection import Connection
from websockets.frames import Opcode
from websockets.protocol import Protocol, Side, State


def test_websockets_major_is_the_pinned_one():
    assert int(websockets.__version__.split(".")[0]) == 17


def test_protocol_writes_is_a_list_of_frames_the_relay_may_join():
    p = Protocol(Side.SERVER, state=State.OPEN)
    p.send_text(b'{"seq":1}')
    p.send_text(b'{"seq":2}')
    assert isinstance(p.writes, list) and len(p.writes) == 2
    assert all(isinstance(w, bytes) and w for w in p.writes)  # b"" would mark end of stream
    p.writes = [b"".join(p.writes)]
    (data,) = p.data_to_send()
    assert data[0] == 0x80 | Opcode.TEXT and data.count(b"seq") == 2
    assert p.writes == []


def test_connection_has_the_members_the_relay_calls():
    assert callable(Connection.send_data)
    assert "protocol" in Connection.__init__.__code__.co_varnames
