"""The market streams as the tests see them: an order posted through the app, the stream its
entry went to, and how many entries the worker group holds unacknowledged."""

from __future__ import annotations

from typing import Any

import redis
from falcon import testing

from service.config import Settings
from service.domain.markets import shard_of

SOL = "SOL/USDC"


def stream_of(settings: Settings, symbol: str = SOL) -> str:
    return settings.stream_key(shard_of(symbol, settings.shards))


def post_order(client: testing.TestClient, **over: Any) -> str:
    body = {"clientId": "c1", "symbol": SOL, "side": "buy", "amount": "0.25", **over}
    r = client.simulate_post("/orders", json=body)
    assert r.status_code == 201, r.text
    return str(r.json["id"])


def pending_count(settings: Settings, r: redis.Redis) -> int:
    info: Any = r.xpending(stream_of(settings), settings.group)
    return int(info["pending"])
