"""Breaking real processes under load: nothing lost, nothing filled twice.

Each scenario runs `order-engine up` against a throwaway PostgreSQL and a throwaway
redis-server (never the shared ones), with real latencies (swap 50-150 ms, quote 10 ms) and
10 % seeded chain failures, sends CHAOS_ORDERS orders (300 by default) and breaks something a
third of the way in, while orders are mid-flight: `kill -9` of a worker, Redis killed and
started again empty, PostgreSQL stopped for 10 s, SIGTERM to the whole engine and a restart,
a second engine or a second host of workers killed whole, a worker paused (SIGSTOP) past its
leases; the last two also on a local Redis Cluster of three masters.
Then every promise is checked on what PostgreSQL holds (bench/chaos/invariants.py) and on what
one client's WebSocket received. `python -m bench.chaos` runs the same with 2,000 orders.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.chaos import chaos, servers

pytestmark = pytest.mark.e2e

N = int(os.environ.get("CHAOS_ORDERS", "300"))
PAUSE_S = 12  # sigstop: well past the chaos engine's LEASE_TTL_MS (3 s), on a loaded machine too
ON_A_CLUSTER = ("worker_host", "sigstop")


@pytest.fixture(scope="module")
def throwaway() -> Iterator[tuple[servers.ThrowawayPostgres, servers.ThrowawayRedis]]:
    with servers.servers() as started:
        yield started


@pytest.fixture(scope="module")
def throwaway_cluster() -> Iterator[
    tuple[servers.ThrowawayPostgres, servers.ThrowawayRedis | servers.ThrowawayRedisCluster]
]:
    with servers.servers(cluster=True) as started:
        yield started


def _errors(workdir: Path) -> str:
    lines = [
        line
        for p in sorted(workdir.glob("engine-*.log"))
        for line in p.read_text(errors="replace").splitlines()
        if re.search(r'"level": "(error|critical)"|Traceback', line)
    ]
    return "\n".join(lines[-20:])


@pytest.mark.parametrize("scenario", chaos.SCENARIOS)
def test_break_under_load_every_order_final_once_in_order(
    scenario: str,
    throwaway: tuple[servers.ThrowawayPostgres, servers.ThrowawayRedis],
    tmp_path: Path,
) -> None:
    pg, rd = throwaway
    check_run(scenario, pg, rd, tmp_path)


@pytest.mark.parametrize("scenario", ON_A_CLUSTER)
def test_break_under_load_on_a_redis_cluster(
    scenario: str,
    throwaway_cluster: tuple[
        servers.ThrowawayPostgres, servers.ThrowawayRedis | servers.ThrowawayRedisCluster
    ],
    tmp_path: Path,
) -> None:
    pg, rd = throwaway_cluster
    check_run(scenario, pg, rd, tmp_path)


def check_run(
    scenario: str,
    pg: servers.ThrowawayPostgres,
    rd: servers.ThrowawayRedis | servers.ThrowawayRedisCluster,
    tmp_path: Path,
) -> None:
    res = chaos.run_scenario(scenario, N, pg, rd, tmp_path, pause_s=PAUSE_S)
    summary = res.summary()
    print(json.dumps({k: v for k, v in summary.items() if k != "problems"}))
    why = f"{json.dumps(summary, indent=1)}\n{_errors(tmp_path)}"
    rep, notes = res.report, res.notes

    # something was in flight, and more was queued, when it broke
    assert res.executing_at_break > 0, why
    # nothing lost: every order sent was accepted (retried through the outage), is stored,
    # and reached a final state
    assert res.accepted == res.sent == N, why
    assert res.in_db == N + notes.get("probe_orders", 0), why
    assert notes["drained"] and rep.final == rep.orders, why
    # nothing executed twice: one landed attempt per filled order, its tx on every fill,
    # and the pools moved by exactly the fills
    assert rep.executed_twice == 0 and rep.fills_without_landing == 0, why
    assert rep.landed == rep.statuses.get("filled", 0), why
    assert rep.pool_mismatch == 0, why
    # events numbered 1..N per order, in time order, by the state table; sums agree
    assert rep.seq_gaps == 0 and rep.seq_mismatch == 0 and rep.bad_transitions == 0, why
    assert rep.fills_mismatch == 0, why
    # every failure explained: a failureReason per failed order, an error per failed
    # attempt, no attempt left in doubt on a final order
    assert rep.unexplained == 0, why
    # clients following an order (/api/orders/execute, reconnecting with fromSeq) saw each
    # of its events once, in order
    assert notes["ws_orders"]["orders"] > 0, why
    assert notes["ws_orders"]["gaps_or_duplicates"] == 0, why
    # one client's /ws stream (reconnecting with the cursor of its last message): each
    # event once, in order, whether the relay kept its pub/sub, lost it (Redis restarted)
    # or restarted itself (the cursor is a position in the commit-ordered shard logs)
    assert notes["ws"]["orders"] > 0, why
    assert notes["ws"]["gaps_or_duplicates"] == 0, why
    assert rep.ok, why
    assert notes["final_stop"]["exit_code"] == 0, why

    if scenario == "kill9":
        assert "restarted_in_s" in notes, why  # the supervisor started the worker again
    elif scenario in ("second_up", "worker_host"):
        # the shards of the host lost had owners again in time
        assert notes["takeover_s"] is not None, why
    elif scenario == "sigstop":
        # the paused worker's shards had live owners again before it resumed, though it
        # was paused holding whatever its commit in progress had locked
        assert notes["paused_shards"] > 0, why
        assert notes["takeover_s"] is not None, why
    elif scenario == "redis":
        health = notes["health_during"]
        assert health["status"] == 503 and health["retry_after"], why
        assert health["body"]["redis"] == "disconnected", why
        assert health["body"]["postgres"] == "connected", why
        # accepted while Redis was down, then queued by the sweeper and executed
        assert notes["post_during"]["status"] == 201 and notes["probe_stored"], why
    elif scenario == "postgres":
        assert notes["answers"].get("503", 0) > 0, why  # the outage was seen...
        assert "503-no-retry-after" not in notes["answers"], why  # ...always with Retry-After
        post = notes["post_during"]
        if post["status"] == 503:
            assert post["retry_after"] and not notes["probe_stored"], why  # nothing half-way
        else:  # answered once PostgreSQL was back (the API's threads were all waiting)
            assert post["status"] == 201 and notes["probe_stored"], why
        health = notes["health_during"]
        if health["status"] == 503:
            assert health["body"]["postgres"] == "disconnected" and health["retry_after"], why
    elif scenario == "sigterm":
        assert notes["exit_code"] == 0, why  # a clean exit
        assert notes["executing_after_stop"] == 0, why  # finished or handed back
