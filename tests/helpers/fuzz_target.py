"""The fuzz tests' target: one app on its own schema and Redis prefix, the counts that must
not move, the hypothesis settings, the API keys, and the status-code report."""

from __future__ import annotations

from collections import Counter
from typing import Any

import psycopg
import redis
from falcon import testing
from hypothesis import HealthCheck, settings

from service.api.app import create_app
from service.api.market_commands import MarketCommands
from service.config import Settings
from service.runtime.cli import cmd_migrate
from service.store.orders import OrderStore

KEY_A, KEY_B = "fuzz-key-alpha-123", "fuzz-key-beta-456"
FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same requests every run: a red build is reproducible
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one app and schema per test, on purpose
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
TOTAL: Counter[int] = Counter()  # every test's status codes, printed at the end


class StubWorkerQueue(MarketCommands):
    """Commands (cancel, /sim/*) wait for the market's worker. A running worker would change
    the counts under the test's feet, and none would make each command wait out its timeout
    (then 503), so here every command is answered at once as a worker that did it would."""

    def command(
        self, symbol: str, cmd: str, args: dict[str, Any], timeout: float
    ) -> dict[str, Any] | None:
        return {"status": 200}


class Target:
    """One app on its own schema and Redis prefix, plus the counts that must not move."""

    def __init__(self, settings: Settings, redis_client: redis.Redis) -> None:
        cmd_migrate(settings)  # pools seeded, so /quote and /markets do real work
        self.settings = settings
        self.store = OrderStore(settings.database_url, 2)
        self.queue = StubWorkerQueue(settings)
        app = create_app(settings, store=self.store, queue=self.queue)
        self.client = testing.TestClient(app)
        self.redis = redis_client
        self.db = psycopg.connect(settings.database_url, autocommit=True)
        self.streams = [settings.stream_key(s) for s in range(settings.shards)]
        self.order_ids: list[str] = []
        self.codes: Counter[int] = Counter()

    def counts(self) -> tuple[int, int, int]:
        orders, events = self.db.execute(
            "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_events)"
        ).fetchone() or (0, 0)
        pipe = self.redis.pipeline(transaction=False)
        for key in self.streams:
            pipe.xlen(key)
        return orders, events, sum(pipe.execute())

    def request(self, method: str, path: str, **kw: Any) -> testing.Result:
        before = self.counts()
        r = self.client.simulate_request(method, path, **kw)
        after = self.counts()
        self.codes[r.status_code] += 1
        TOTAL[r.status_code] += 1
        where = f"{method} {path} {kw!r:.600} -> {r.status_code} {r.text[:300]}"
        assert r.status_code < 500, where
        if 400 <= r.status_code < 500:
            err = r.json["error"]
            assert isinstance(err["code"], str) and err["code"], where
            assert isinstance(err["message"], str) and err["message"], where
            assert after == before, f"stored after a 4xx: {before} -> {after}: {where}"
        if method == "POST" and r.status_code == 201 and "order" in path:
            assert after == (before[0] + 1, before[1] + 1, before[2] + 1), where
            self.order_ids.append(r.json["id"])
        if method == "POST" and r.status_code == 200 and "order" in path:
            assert after == before, where  # an idempotent retry stores nothing
        return r

    def close(self) -> None:
        self.db.close()
        self.store.close()
        self.queue.close()


def _report(name: str, codes: Counter[int]) -> None:
    if not codes:
        return
    hist = ", ".join(f"{code}: {n}" for code, n in sorted(codes.items()))
    print(f"\n[fuzz {name}] {sum(codes.values())} requests: {hist}")
