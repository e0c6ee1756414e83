"""Redis clients for every process: one node (`redis.Redis`), or with REDIS_CLUSTER=1 a Redis
Cluster (`RedisCluster`, which finds the other nodes from the one REDIS_URL names and sends
each command to the node serving its key's slot).

The same code runs on both because no command spans two slots: every key of one shard
carries the shard's hash tag (`{n}`, see Settings.stream_key), a key with derived keys is
tagged whole (Settings.tagged_key), a stream is read one per XREADGROUP, and Lua scripts
name every key they touch. A cluster pipeline refuses PUBLISH, so `publish_first` sends
pub/sub messages ahead of the pipeline there. A subscriber (the relay) may use one node:
a Redis Cluster delivers a PUBLISH to the subscribers of every node.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster


def sync_client(url: str, cluster: bool, **options: Any) -> Any:
    """A blocking client (the API's, the CLI's)."""
    if cluster:
        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)


def async_client(url: str, cluster: bool, **options: Any) -> Any:
    """An asyncio client (the workers', the relay's reads)."""
    if cluster:
        return AsyncRedisCluster.from_url(url, **options)
    return aioredis.Redis.from_url(url, **options)


def is_cluster(client: object) -> bool:
    return isinstance(client, RedisCluster | AsyncRedisCluster)


def publish_first(client: Any, pipe: Any, channel: str, messages: Sequence[bytes]) -> None:
    """PUBLISH the messages ahead of the pipeline's other commands: on the pipeline (one
    node: one round trip), or at once, before the pipeline runs (a cluster pipeline
    refuses PUBLISH)."""
    target = client if is_cluster(client) else pipe
    for message in messages:
        target.publish(channel, message)


async def publish_first_async(
    client: Any, pipe: Any, channel: str, messages: Sequence[bytes]
) -> None:
    """As publish_first, for an asyncio client."""
    if not is_cluster(client):
        for message in messages:
            pipe.publish(channel, message)
        return
    for message in messages:
        await client.publish(channel, message)


async def xreadgroup_one(
    client: Any,
    group: str,
    consumer: str,
    stream: str,
    last_id: str,
    count: int,
    block_ms: int | None,
) -> Any:
    """XREADGROUP of one stream, parsed as redis-py's `xreadgroup`. On a cluster it goes
    straight to the node of the stream's slot (looked up on every call, so it follows a
    slot that moved): left to itself, redis-py asks a node `COMMAND GETKEYS` before every
    XREADGROUP (its keys are "movable"), one round trip more over a connection every
    caller shares, which a worker resumed after a long pause found closed under it."""
    if not is_cluster(client):
        return await client.xreadgroup(
            group, consumer, {stream: last_id}, count=count, block=block_ms
        )
    pieces: list[Any] = ["GROUP", group, consumer, "COUNT", count]
    if block_ms is not None:
        pieces += ["BLOCK", block_ms]
    pieces += ["STREAMS", stream, last_id]
    node = client.get_node_from_key(stream)
    return await client.execute_command("XREADGROUP", *pieces, target_nodes=node)
