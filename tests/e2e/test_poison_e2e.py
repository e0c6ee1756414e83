"""Poisoned streams against real processes (`order-engine up`, two workers): seeded garbage
entries injected into every shard stream between good orders, then a store refusal that kills
the worker owning SOL/USDC. Every good order ends, every garbage entry is dead-lettered and
acknowledged, no worker restarts for garbage, and the worker that died is restarted once and
does not die again on the same entry."""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from service.config import Settings
from tests.conftest import REDIS_URL
from tests.helpers.engine import Engine, running_engine

pytestmark = pytest.mark.e2e

SEED = 14
GARBAGE = 120
GOOD = 30
FINAL = ("filled", "canceled", "expired", "rejected", "failed")


def garbage(rng: random.Random) -> dict[bytes, bytes]:
    """One entry no worker can apply, of one of several kinds."""
    kind = rng.randrange(7)
    junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if kind == 0:
        return {junk[:8] or b"x": junk}
    if kind == 1:
        return {b"id": str(uuid.uuid4()).encode()[: rng.randrange(1, 35)], b"symbol": b"SOL/USDC"}
    if kind == 2:
        return {b"id": str(uuid.uuid4()).encode(), b"symbol": b"SOL/USDC"}  # no such order
    if kind == 3:
        body = json.dumps({"symbol": "SOL/USDC", "price": "151"}).encode()
        return {b"cmd": b"sim_price", b"args": body[: rng.randrange(len(body) - 1)]}
    if kind == 4:
        price = rng.choice(["1e200000", "1e30", "-1", "NaN", "Infinity", "0", "1e-300", "x"])
        return {b"cmd": b"sim_price", b"args": json.dumps({"symbol": "SOL/USDC", "price": price})}
    if kind == 5:
        return {b"cmd": rng.choice([b"cancel", b"sim_launch", b"drop", junk]), b"args": junk}
    return {b"cmd": b"cancel", b"args": json.dumps({"id": junk.hex()}).encode()}


def dead_total(r: redis.Redis, s: Settings) -> int:
    return sum(int(r.xlen(s.dead_letter_key(shard))) for shard in range(s.shards))


def pending_total(r: redis.Redis, s: Settings) -> int:
    total = 0
    for shard in range(s.shards):
        info: Any = r.xpending(s.stream_key(shard), s.group)
        total += int(info["pending"])
    return total


def statuses(db: str, ids: list[str]) -> dict[str, str]:
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT id::text, status FROM orders WHERE id = ANY(%s::uuid[])", (ids,)
        ).fetchall()
    return dict(rows)


def wait_for(what: str, check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached: {what}")
        time.sleep(0.1)


def exits(engine: Engine) -> list[str]:
    return [ln for ln in engine.log.read_text().splitlines() if "exited with" in ln]


def post(engine: Engine, i: int) -> str:
    body = {"clientId": "c1", "symbol": "SOL/USDC", "side": "buy" if i % 2 else "sell"}
    status, out, _ = engine.request("POST", "/orders", {**body, "amount": "0.1"})
    assert status == 201, out
    return str(out["id"])


def test_poisoned_streams_no_stuck_order_no_crash_loop(
    pg_database: str, redis_prefix: str, tmp_path: Path
) -> None:
    s = Settings.from_env(
        {"DATABASE_URL": pg_database, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": redis_prefix}
    )
    r = redis.Redis.from_url(REDIS_URL)
    rng = random.Random(SEED)
    with running_engine(pg_database, redis_prefix, tmp_path, MAX_DELIVERIES="3") as engine:
        ids: list[str] = []
        for i in range(GARBAGE):
            r.xadd(s.stream_key(rng.randrange(s.shards)), garbage(rng))
            if i % (GARBAGE // GOOD) == 0:
                ids.append(post(engine, i))

        wait_for(
            "good orders final", lambda: set(statuses(pg_database, ids).values()) <= set(FINAL)
        )
        wait_for("garbage dead-lettered", lambda: dead_total(r, s) == GARBAGE)
        wait_for("nothing pending", lambda: pending_total(r, s) == 0)
        assert exits(engine) == []  # 0 crash loops: no worker ever died on garbage

        # A refusal of the store itself kills the owner of SOL/USDC, once.
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute(
                "ALTER TABLE markets ADD CONSTRAINT refuse_all"
                " CHECK (symbol <> 'SOL/USDC' OR reference_price <= 150)"
            )
        status, out, _ = engine.request(
            "POST", "/sim/price", {"symbol": "SOL/USDC", "price": "151"}
        )
        assert status == 500, out
        wait_for("the worker restarted", lambda: len(exits(engine)) == 1)
        # the owner of SOL/USDC's shard, whichever worker took its lease
        assert re.search(r"worker-\d exited with 1", exits(engine)[0]), exits(engine)
        after = [post(engine, i) for i in range(5)]
        wait_for(
            "orders after the restart final",
            lambda: set(statuses(pg_database, after).values()) <= set(FINAL),
        )
        assert statuses(pg_database, after) == {oid: "filled" for oid in after}
        assert len(exits(engine)) == 1  # the restarted worker did not die again
        assert dead_total(r, s) == GARBAGE + 1 and pending_total(r, s) == 0
    r.close()
