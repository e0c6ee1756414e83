"""The relay in-process on port 0, and running a coroutine with a bound."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from service.config import Settings
from service.relay import RelayServer


def run(coro: Coroutine[Any, Any, None], timeout: float = 60.0) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(timeout):
            await coro

    asyncio.run(bounded())


async def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.005)


def relay_for(settings: Settings, **kw: Any) -> RelayServer:
    return RelayServer(settings, host="127.0.0.1", port=0, **kw)


def ws_url(relay: RelayServer, path: str) -> str:
    return f"ws://127.0.0.1:{relay.port}{path}"


async def rejected(
    relay: RelayServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    with pytest.raises(InvalidStatus) as info:
        async with connect(ws_url(relay, path), additional_headers=headers):
            pass
    response = info.value.response
    assert response.headers["Content-Type"] == "application/json"
    return response.status_code, orjson.loads(response.body)
