"""The engine on a Redis Cluster (REDIS_CLUSTER=1): a local cluster of three masters started
for the test (bench/chaos/servers.py), `order-engine up` pointed at one of its nodes. Market
orders over HTTP reach `filled` with their six statuses over WebSocket; a limit order rests,
its cancel (a command answered on a reply list) is answered; the shards' keys are spread
over the nodes; `order-engine reset` empties every node."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from websockets.asyncio.client import connect

from bench.chaos.servers import ThrowawayRedisCluster
from bench.launch import Engine, running_engine

pytestmark = pytest.mark.e2e

SIX = ["pending", "routing", "building", "submitted", "confirmed", "filled"]
PREFIX = "clus"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayRedisCluster]:
    c = ThrowawayRedisCluster(tmp_path_factory.mktemp("cluster"))
    try:
        c.start()
        yield c
    finally:
        c.kill()


@pytest.fixture
def engine(cluster: ThrowawayRedisCluster, pg_database: str, tmp_path: Path) -> Iterator[Engine]:
    with running_engine(
        pg_database, PREFIX, tmp_path, redis_url=cluster.url, REDIS_CLUSTER="1"
    ) as eng:
        yield eng


async def _statuses_of(engine: Engine, client: str, n: int) -> dict[str, list[str]]:
    """Post n market orders of one client on its socket; each order's statuses as sent."""
    got: dict[str, list[str]] = {}
    async with connect(f"{engine.ws}/ws?clientId={client}") as ws:
        for i in range(n):
            body = {
                "clientId": client,
                "symbol": ["SOL/USDC", "ETH/USDT", "BONK/SOL"][i % 3],
                "side": "buy" if i % 2 else "sell",
                "amount": ["0.5", "0.01", "1000000"][i % 3],
                "slippageBps": 100,
            }
            status, order, _ = await asyncio.to_thread(engine.request, "POST", "/orders", body)
            assert status == 201, order
            got[order["id"]] = []
        async with asyncio.timeout(60):
            async for raw in ws:
                payload = json.loads(raw)["payload"]
                got.setdefault(payload["id"], []).append(payload["status"])
                if sum(s[-1:] == ["filled"] for s in got.values()) == n:
                    break
    return got


def test_market_orders_fill_with_six_statuses_over_a_redis_cluster(
    engine: Engine, cluster: ThrowawayRedisCluster
) -> None:
    client = f"cl-{uuid.uuid4().hex[:6]}"
    got = asyncio.run(_statuses_of(engine, client, 30))
    assert len(got) == 30
    for oid, statuses in got.items():
        assert statuses == SIX, (oid, statuses)
    status, health, _ = engine.request("GET", "/health")
    assert status == 200 and health["status"] == "ok", health

    # A limit order rests; its cancel goes through the market's stream and a reply list.
    body = {"clientId": client, "symbol": "SOL/USDC", "side": "buy", "amount": "0.1",
            "type": "limit", "limitPrice": "1", "timeInForce": "GTC"}  # fmt: skip
    status, order, _ = engine.request("POST", "/orders", body)
    assert status == 201, order
    deadline = time.monotonic() + 20
    while engine.request("GET", f"/orders/{order['id']}")[1]["status"] != "open":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    status, canceled, _ = engine.request("DELETE", f"/orders/{order['id']}")
    assert status == 200 and canceled["status"] == "canceled", canceled

    # The shards' streams live on more than one node (their hash tags spread the slots).
    nodes_with_streams = 0
    for port in cluster.ports:
        node = redis.Redis(port=port)
        if any(b":orders:{" in k for k in node.scan_iter(match=f"{PREFIX}:orders:*")):
            nodes_with_streams += 1
        node.close()
    assert nodes_with_streams >= 2


def test_reset_empties_every_node_of_the_cluster(
    cluster: ThrowawayRedisCluster, pg_database: str
) -> None:
    prefix = f"wipe{uuid.uuid4().hex[:4]}"
    rc = redis.RedisCluster.from_url(cluster.url)
    for shard in range(8):
        rc.xadd(f"{prefix}:orders:{{{shard}}}", {"id": "x"})
    env = {**os.environ, "DATABASE_URL": pg_database, "REDIS_URL": cluster.url,
           "REDIS_CLUSTER": "1", "REDIS_PREFIX": prefix}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "service", "reset", "--yes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not list(rc.scan_iter(match=f"{prefix}:*"))
    rc.close()
