"""The WebSocket relay against the real PostgreSQL and Redis, started in-process on port 0:
HTTP before the upgrade (health, refused parameters, API keys).

Rows are written with SQL and frames published with Redis, as a worker would: store (commit)
first, publish after.
"""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from websockets.asyncio.client import connect

from service.config import Settings
from tests.helpers.relay import rejected, relay_for, run, wait_until, ws_url
from tests.helpers.relay_world import (
    World,
    http_get,
    recv_messages,
    seqs,
)

pytestmark = pytest.mark.integration

# -- HTTP before the upgrade --


def test_relay_healthz_answers_ok(settings: Settings) -> None:
    async def main() -> None:
        async with relay_for(settings) as relay:
            assert await http_get(relay.port, "/healthz") == (200, b"ok\n")

    run(main())


# an order no test stores (a fixed id: the parameters are the same in every collection, as
# pytest-xdist's workers require)
UNKNOWN_ORDER = "213fef85-e6b5-4430-bfc8-fc515b70c28f"


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/ws", 400, "clientId"),
        ("/ws?clientId=", 400, "clientId"),
        ("/ws?clientId=alice&afterEventId=12", 400, "afterEventId"),  # retired: use cursor
        ("/ws?clientId=alice&cursor=***", 400, "cursor"),
        ("/ws?clientId=alice&cursor=eA", 400, "cursor"),
        ("/api/orders/execute", 400, "orderId"),
        ("/api/orders/execute?orderId=42", 400, "orderId"),
        (f"/api/orders/execute?orderId={UNKNOWN_ORDER}&fromSeq=1.5", 400, "fromSeq"),
        (f"/api/orders/execute?orderId={UNKNOWN_ORDER}&fromSeq=99999999999", 400, "fromSeq"),
        (f"/api/orders/execute?orderId={UNKNOWN_ORDER}", 404, "orderId"),
        ("/nope", 404, None),
    ],
)
def test_relay_bad_parameters_rejected_naming_the_field(
    settings: Settings, path: str, status: int, field: str | None
) -> None:
    async def main() -> None:
        async with relay_for(settings) as relay:
            got, body = await rejected(relay, path)
            assert got == status
            assert body["error"]["code"]
            assert body["error"]["message"]
            assert body["error"].get("field") == field

    run(main())


def test_relay_api_keys_required_and_scoped_to_their_client(settings: Settings) -> None:
    keyed = dataclasses.replace(settings, api_keys={"key-a": "alice", "key-b": "bob"})

    async def main() -> None:
        async with World(keyed) as w, relay_for(keyed) as relay:
            mine, theirs = await w.order("alice"), await w.order("bob")
            await w.store(mine, "alice", 1)
            await w.store(theirs, "bob", 1)

            assert (await rejected(relay, "/ws?clientId=alice"))[0] == 401
            assert (await rejected(relay, "/ws?clientId=alice&apiKey=nope"))[0] == 401
            status, body = await rejected(relay, "/ws?clientId=bob&apiKey=key-a")
            assert (status, body["error"]["field"]) == (403, "clientId")
            path = f"/api/orders/execute?orderId={theirs}"
            assert (await rejected(relay, path, {"X-API-Key": "key-a"}))[0] == 404

            path = f"/api/orders/execute?orderId={mine}"
            bearer = {"Authorization": "Bearer key-a"}
            async with connect(ws_url(relay, path), additional_headers=bearer) as ws:
                assert seqs(await recv_messages(ws, 1)) == [1]
            # With a key, clientId defaults to the key's client. (Its live events begin where
            # the relay is: once it has caught up with the two events stored unpublished.)
            await wait_until(lambda: relay.hub.sequencer.next.get(0, 1) > 2, timeout=10)
            async with connect(ws_url(relay, "/ws?apiKey=key-a")) as ws:
                await wait_until(lambda: len(relay.hub) == 1)
                await w.emit(theirs, "bob", 2)
                await w.emit(mine, "alice", 2)
                [message] = await recv_messages(ws, 1)
                assert orjson.loads(message)["payload"]["id"] == mine

    run(main())
