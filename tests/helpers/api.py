"""The API side of the integration tests: a good order body and what a request stored."""

from __future__ import annotations

import psycopg
import redis

from service.config import Settings

GOOD = {"clientId": "alice", "symbol": "SOL/USDC", "side": "buy", "amount": "1.5"}


def counts(settings: Settings, r: redis.Redis) -> tuple[int, int, int]:
    with psycopg.connect(settings.database_url) as conn:
        orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM order_events").fetchone()[0]
    streams = sum(r.xlen(settings.stream_key(s)) for s in range(settings.shards))
    return orders, events, streams
