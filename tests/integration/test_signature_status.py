"""The mock chain's ledger (chain_transactions) and a takeover that asks it: an attempt found
`submitted` is retried only once its transaction can no longer land, the lookups of the
orders recovered together are one query, and a landing is stored with the order's
`confirmed`, fills and pools or not at all (the real PostgreSQL and Redis).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
import redis

from engine_core import fsm
from service.config import Settings
from service.domain.markets import shard_of
from service.simulator.chain import slot_at, tx_signature
from service.store import batch as store
from service.store.chain import ChainLedger
from service.store.fencing import STALE_POOL
from tests.helpers.worker import (
    attempts_of,
    events_of,
    leave_mid_execution,
    post_orders,
    run_worker_until_final,
    worker_running,
)

pytestmark = pytest.mark.integration


def sent(settings: Settings, oid: str, attempt: int, valid_for_s: float) -> float:
    """Record in the ledger that the attempt's transaction was sent now, valid this long
    (negative: already expired); returns its deadline."""
    now = time.time()
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(
            "INSERT INTO chain_transactions (signature, order_id, attempt, sent_at, valid_until)"
            " VALUES (%s, %s, %s, to_timestamp(%s), to_timestamp(%s))",
            (tx_signature(oid, attempt), oid, attempt, now, now + valid_for_s),
        )
    return now + valid_for_s


def retried_at(settings: Settings, oid: str) -> float:
    """When the attempt after the one in doubt started (its `routing` event)."""
    evs = events_of(settings, oid)
    assert [e[1] for e in evs][3:6] == ["submitted", "routing", "building"], evs
    return float(evs[4][3].timestamp())


def ledger(settings: Settings, oid: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(
            "SELECT attempt, landed_at, slot, outcome FROM chain_transactions"
            " WHERE order_id = %s ORDER BY attempt",
            (oid,),
        ).fetchall()


def test_takeover_of_a_submitted_attempt_still_valid_waits_until_it_expires(
    make_settings: Any, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(MAX_ATTEMPTS="3", MOCK_BLOCKHASH_VALIDITY_MS="1500")
    valid1, valid2, expired, unsent = post_orders(settings, 4)
    for s in range(settings.shards):  # the dead worker had read them all
        redis_client.delete(settings.stream_key(s))
    for oid in (valid1, valid2, expired, unsent):
        leave_mid_execution(settings, oid, ["routing", "building", "submitted"], 1)
    deadline = max(sent(settings, valid1, 1, 1.5), sent(settings, valid2, 1, 1.5))
    sent(settings, expired, 1, -1.0)
    # `unsent`: no ledger row, its transaction never reached the chain
    lookups: list[list[str]] = []
    real = ChainLedger.transactions

    async def counted(self: ChainLedger, signatures: Sequence[str]) -> dict[str, Any]:
        lookups.append(sorted(signatures))
        return await real(self, signatures)

    monkeypatch.setattr(ChainLedger, "transactions", counted)
    run_worker_until_final(settings, [valid1, valid2, expired, unsent])

    # one query for the four recovered together, one again after the deadline for the two
    # that could still land
    sig = {oid: tx_signature(oid, 1) for oid in (valid1, valid2, expired, unsent)}
    assert lookups == [sorted(sig.values()), sorted([sig[valid1], sig[valid2]])]
    for oid in (valid1, valid2):
        # not submitted again while it could land: the retry starts after its deadline
        assert retried_at(settings, oid) > deadline
    for oid in (expired, unsent):
        assert retried_at(settings, oid) < deadline  # retried at once
    for oid in (valid1, valid2, expired, unsent):
        evs = events_of(settings, oid)
        assert evs[4][2]["attempts"] == 2 and evs[4][2]["lastError"] == "not_landed"
        assert evs[-1][1] == "filled"
        assert [(a, s, e) for a, s, e, _ in attempts_of(settings, oid)] == [
            (1, "failed", "not_landed"),
            (2, "landed", None),
        ]
        # the ledger: attempt 1 never landed (if sent at all), attempt 2 landed
        rows = ledger(settings, oid)
        assert [(a, landed is not None, outcome) for a, landed, _, outcome in rows] == (
            [] if oid == unsent else [(1, False, None)]
        ) + [(2, True, "ok")]


def test_takeover_wait_ends_at_a_stop_leaving_the_order_submitted(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    """A worker stopped while it waits for an attempt in doubt stops at once, leaving the
    order `submitted` for the next owner (which asks again)."""
    settings = make_settings(MOCK_BLOCKHASH_VALIDITY_MS="60000")
    [oid] = post_orders(settings, 1)
    for s in range(settings.shards):
        redis_client.delete(settings.stream_key(s))
    leave_mid_execution(settings, oid, ["routing", "building", "submitted"], 1)
    sent(settings, oid, 1, 60.0)
    with worker_running(settings) as worker:
        deadline = time.monotonic() + 15
        while oid not in worker.roster.known and time.monotonic() < deadline:
            time.sleep(0.05)
        assert oid in worker.roster.known and oid not in worker.roster.inflight
        time.sleep(0.5)
        stopped = time.monotonic()
    assert time.monotonic() - stopped < 5  # not the 60 s of the transaction's validity
    assert [e[1] for e in events_of(settings, oid)][-1] == "submitted"
    assert [(a, s) for a, s, _, _ in attempts_of(settings, oid)] == [(1, "submitted")]


def test_takeover_of_a_submitted_attempt_the_ledger_says_landed_never_submits_it_again(
    make_settings: Any, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Cannot happen through the engine (a landing commits with `confirmed`): the order is
    held as it is, never executed again, and an error names it."""
    settings = make_settings()
    [oid] = post_orders(settings, 1)
    for s in range(settings.shards):
        redis_client.delete(settings.stream_key(s))
    leave_mid_execution(settings, oid, ["routing", "building", "submitted"], 1)
    sent(settings, oid, 1, 60.0)
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(
            "UPDATE chain_transactions SET landed_at = now(), slot = 1, outcome = 'ok'"
            " WHERE order_id = %s",
            (oid,),
        )
    with caplog.at_level(logging.ERROR), worker_running(settings) as worker:
        deadline = time.monotonic() + 15
        while "landed" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert worker.roster.taken_status(oid) == "submitted"
    assert f"order {oid}: attempt 1 landed" in caplog.text
    assert [e[1] for e in events_of(settings, oid)][-1] == "submitted"
    assert [(a, s) for a, s, _, _ in attempts_of(settings, oid)] == [(1, "submitted")]


def test_a_landing_is_stored_with_the_orders_confirmed_fills_and_pools(
    make_settings: Any,
) -> None:
    """While orders execute (swaps taking a while, so `submitted` and `confirmed` are
    separate commits), every snapshot of PostgreSQL agrees: an order `submitted` has its
    transaction in the ledger, not landed; one `confirmed` or after has it landed, at the
    time of its `confirmed` event and fills."""
    settings = make_settings(MOCK_SWAP_LATENCY_MS="150-300")
    ids = post_orders(settings, 12)
    seen: set[str] = set()
    with worker_running(settings), psycopg.connect(settings.database_url) as conn:
        conn.autocommit = True
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = conn.execute(
                "SELECT o.status, t.signature, t.landed_at FROM orders o"
                " LEFT JOIN chain_transactions t ON t.order_id = o.id AND t.attempt = o.attempts"
                " WHERE o.id = ANY(%s::uuid[])",
                (ids,),
            ).fetchall()  # one statement: one snapshot
            for status, signature, landed_at in rows:
                seen.add(status)
                if status == "submitted":
                    assert signature is not None and landed_at is None
                elif status in ("confirmed", "filled"):
                    assert landed_at is not None
                else:
                    assert signature is None, status
            if all(s in fsm.TERMINAL for s, _, _ in rows):
                break
            time.sleep(0.01)
    assert "submitted" in seen and "filled" in seen
    with psycopg.connect(settings.database_url) as conn:
        for oid in ids:
            evs = events_of(settings, oid)
            confirmed = next(e[3] for e in evs if e[1] == "confirmed")
            [(attempt, landed_at, slot, outcome)] = ledger(settings, oid)
            assert (attempt, landed_at, slot, outcome) == (
                1, confirmed, slot_at(confirmed.timestamp()), "ok"
            )  # fmt: skip
            fills_ts = {
                r[0] for r in conn.execute("SELECT ts FROM fills WHERE order_id = %s", (oid,))
            }
            assert fills_ts == {landed_at}


def test_a_refused_batch_stores_no_landing(settings: Settings) -> None:
    """The ledger row is one statement of the batch's transaction: a batch refused at its
    last statement (a pool at a version it never read) leaves no landing either."""
    [oid] = post_orders(settings, 1)
    shard = shard_of("SOL/USDC", settings.shards)
    now = datetime.now(UTC)
    sig = tx_signature(oid, 1)

    async def main() -> None:
        conn = await store.connect(settings.database_url)
        order = {
            "id": oid, "status": "confirmed", "seq": 5, "filled": 1, "quote_amount": 1,
            "fees": 0, "attempts": 1, "tx_hash": sig, "failure_reason": None,
            "route": None, "ts": now,
        }  # fmt: skip
        event = {
            "order_id": oid, "client_id": "c0", "seq": 5, "status": "confirmed", "ts": now,
            "payload": {}, "shard": shard,
        }  # fmt: skip
        fill = {
            "order_id": oid, "attempt": 1, "venue": "internal", "amount": 1, "quote_amount": 1,
            "fee": 0, "tx_hash": sig, "ts": now,
        }  # fmt: skip
        chain = {
            "signature": sig, "order_id": oid, "attempt": 1, "sent_at": now.timestamp(),
            "valid_until": now.timestamp() + 60, "landed_at": now, "slot": 1, "outcome": "ok",
        }  # fmt: skip
        state = {"kind": "cpmm"}
        with pytest.raises(psycopg.Error) as refused:
            await store.commit_batch(
                conn,
                orders=[order],
                events=[event],
                fills=[fill],
                attempts=[],
                pools=[("SOL/USDC", "nowhere", state, 41)],  # a version never stored
                markets=[],
                now=now,
                chain=[chain],
            )
        assert refused.value.sqlstate == STALE_POOL
        await conn.close()

    asyncio.run(main())
    with psycopg.connect(settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM chain_transactions").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM fills").fetchone() == (0,)
        assert conn.execute("SELECT status FROM orders WHERE id = %s", (oid,)).fetchone() == (
            "pending",
        )
