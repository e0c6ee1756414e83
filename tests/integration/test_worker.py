"""The engine worker on the real PostgreSQL and Redis: statuses, fills, pools, acks,
retries, the sweeper and the shared rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import redis

from service.config import Settings
from tests.helpers.worker import SIX, events_of, post_orders, run_worker_until_final

pytestmark = pytest.mark.integration


def test_worker_market_orders_fill_with_six_events_fills_and_pool_moves(
    settings: Settings, redis_client: redis.Redis
) -> None:
    ids = post_orders(settings, 12)
    run_worker_until_final(settings, ids)
    with psycopg.connect(settings.database_url) as conn:
        for oid in ids:
            evs = events_of(settings, oid)
            assert [e[1] for e in evs] == SIX
            assert [e[0] for e in evs] == [1, 2, 3, 4, 5, 6]
            assert [e[3] for e in evs] == sorted(e[3] for e in evs)
            status, filled, amount, quote, tx, seq = conn.execute(
                "SELECT status, filled, amount, quote_amount, tx_hash, seq FROM orders"
                " WHERE id = %s",
                (oid,),
            ).fetchone()
            assert (status, filled, seq) == ("filled", amount, 6) and tx and quote > 0
            fsum, qsum, ftx = conn.execute(
                "SELECT sum(amount), sum(quote_amount), min(tx_hash) FROM fills"
                " WHERE order_id = %s",
                (oid,),
            ).fetchone()
            assert (fsum, qsum, ftx) == (filled, quote, tx)
            landed = conn.execute(
                "SELECT count(*) FROM attempts WHERE order_id = %s AND status = 'landed'", (oid,)
            ).fetchone()[0]
            assert landed == 1
        versions = conn.execute(
            "SELECT sum(version) FROM pools WHERE symbol = 'SOL/USDC'"
        ).fetchone()[0]
        assert versions >= 1  # the fills moved the pools, and the state was stored with them
    # every entry acknowledged once final (a shard no order went to may have no stream yet:
    # the worker can be done before it took every shard)
    streams = [settings.stream_key(s) for s in range(settings.shards)]
    pending = sum(
        redis_client.xpending(key, settings.group)["pending"]
        for key in streams
        if redis_client.exists(key)
    )
    assert pending == 0


def test_market_orders_read_together_execute_in_passes_with_their_own_events(
    settings: Settings,
) -> None:
    """Market orders queued before the worker starts are read together and executed in
    passes (no task per order), each still with its six events in order."""
    from prometheus_client import REGISTRY

    def pass_samples() -> tuple[float, float]:
        return (
            REGISTRY.get_sample_value("engine_pass_size_count") or 0.0,
            REGISTRY.get_sample_value("engine_pass_size_sum") or 0.0,
        )

    passes0, orders0 = pass_samples()
    ids = post_orders(settings, 12)
    run_worker_until_final(settings, ids)
    passes1, orders1 = pass_samples()
    assert orders1 - orders0 == 12  # every order went through a pass
    assert passes1 - passes0 < 12  # several orders per pass
    for oid in ids:
        assert [e[1] for e in events_of(settings, oid)] == SIX


def test_worker_failing_chain_retries_then_fails_with_reason(make_settings: Any) -> None:
    settings = make_settings(MOCK_FAILURE_RATE="1", MAX_ATTEMPTS="3")
    [oid] = post_orders(settings, 1)
    run_worker_until_final(settings, [oid])
    evs = events_of(settings, oid)
    assert [e[1] for e in evs] == (
        ["pending"] + ["routing", "building", "submitted"] * 3 + ["failed"]
    )
    assert [e[2]["attempts"] for e in evs if e[1] == "routing"] == [1, 2, 3]
    assert evs[-1][2]["failureReason"] in (
        "blockhash_expired",
        "rpc_timeout",
        "rate_limited",
        "not_landed",
    )
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT attempt, status, error FROM attempts WHERE order_id = %s ORDER BY attempt",
            (oid,),
        ).fetchall()
        fills = conn.execute("SELECT count(*) FROM fills WHERE order_id = %s", (oid,)).fetchone()
    assert [(a, s) for a, s, _ in rows] == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert all(err for _, _, err in rows) and fills == (0,)


def test_worker_sweeper_requeues_pending_order_missing_from_stream(
    make_settings: Any, redis_client: redis.Redis
) -> None:
    settings = make_settings(SWEEP_AFTER_MS="100")
    ids = post_orders(settings, 2)
    # As if the API crashed between its commit and its XADD: the stream lost the entries.
    for s in range(settings.shards):
        redis_client.delete(settings.stream_key(s))
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(
            "UPDATE orders SET created_at = %s", (datetime.now(UTC) - timedelta(seconds=5),)
        )
    run_worker_until_final(settings, ids)
    assert all([e[1] for e in events_of(settings, oid)] == SIX for oid in ids)


def test_worker_rate_limit_spreads_attempt_starts_over_windows(make_settings: Any) -> None:
    settings = make_settings(QUEUE_RATE_LIMIT_MAX="4", QUEUE_RATE_LIMIT_DURATION_MS="500")
    ids = post_orders(settings, 10)
    run_worker_until_final(settings, ids)
    starts = sorted(
        next(e[3] for e in events_of(settings, oid) if e[1] == "routing") for oid in ids
    )
    # 10 starts at 4 per 500 ms need at least two more windows after the first.
    assert (starts[-1] - starts[0]).total_seconds() >= 0.9
    for i in range(len(starts) - 4):
        assert (starts[i + 4] - starts[i]).total_seconds() >= 0.45


def test_writer_order_update_finds_rows_by_index_not_by_scanning_orders(
    settings: Settings,
) -> None:
    """The batch UPDATE of orders must look rows up by primary key: planned for the 100 rows
    a bare json_to_recordset is assumed to return, it hash-joined over a sequential scan of
    the whole table on every batch."""
    import orjson

    from service.store.batch import UPDATE_ORDERS

    with psycopg.connect(settings.database_url) as conn:
        conn.execute(
            "INSERT INTO orders (id, client_id, request_hash, symbol, side, type,"
            " time_in_force, amount, slippage_bps, status)"
            " SELECT gen_random_uuid(), 'c', 'h', 'SOL/USDC', 'buy', 'market', 'IOC', 1, 50,"
            " 'pending' FROM generate_series(1, 5000)"
        )
        conn.execute("ANALYZE orders")
        conn.execute("SET plan_cache_mode = force_custom_plan")  # as the writer's connection
        ids = [r[0] for r in conn.execute("SELECT id FROM orders LIMIT 8").fetchall()]
        rows = [
            {"id": str(i), "status": "routing", "seq": 2, "filled": 0, "quote_amount": 0,
             "fees": 0, "attempts": 1, "tx_hash": None, "failure_reason": None,
             "route": None, "ts": "2026-01-01T00:00:00Z"}
            for i in ids
        ]  # fmt: skip
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN " + UPDATE_ORDERS, (orjson.dumps(rows).decode(), len(rows))
            ).fetchall()
        )
        assert "Index Scan using orders_pkey" in plan, plan
        assert "Seq Scan on orders" not in plan, plan
        conn.execute(UPDATE_ORDERS, (orjson.dumps(rows).decode(), len(rows)))
        updated = conn.execute(
            "SELECT count(*) FROM orders WHERE status = 'routing' AND seq = 2"
        ).fetchone()
        assert updated == (8,)
