"""The worker's CPU per order with no I/O: a batch pass (plan, fill, queue the five status
changes of each of N market orders, service/worker/batch_executor.py) and the writer's
client-side work for them (the batch as rows, the events as COPY text, the pub/sub frames),
timed stage by stage on the real classes (nothing is stored or published); each stage's
best round is shown.

Run: PYTHONPATH=$PWD python -m bench.micro.worker_pass [-n 256] [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from engine_core.pools import make_pool
from service.config import DEFAULT_MARKETS_FILE, Settings
from service.domain.cursor import Position
from service.domain.markets import load_markets, shard_of
from service.domain.order import LiveOrder
from service.domain.wire import iso
from service.simulator.chain import MockChain
from service.store import batch as store
from service.worker.batch_executor import BatchExecutor
from service.worker.changes import rows
from service.worker.executor import Executor
from service.worker.in_doubt import InDoubt
from service.worker.market_state import MarketState
from service.worker.roster import Roster
from service.worker.writer import EventWriter, frame_of


class _Owner:
    def __init__(self, shards: int) -> None:
        self._shards = shards

    def shard(self, symbol: str) -> int:
        return shard_of(symbol, self._shards)

    def pool_version(self, symbol: str, venue: str) -> int | None:
        return 0


def _orders(markets: dict[str, Any], symbol: str, n: int) -> list[LiveOrder]:
    m = markets[symbol]
    amount = max(1, 10**m.base.decimals // 100)
    now = datetime.now(UTC)
    return [
        LiveOrder(
            str(uuid.uuid4()),
            f"q-{i % 100}",
            symbol,
            "buy" if i % 2 else "sell",
            "market",
            "IOC",
            amount,
            None,
            500,
            "pending",
            1,
            0,
            0,
            0,
            0,
            None,
            None,
            now,
            None,
            m,
        )  # fmt: skip
        for i in range(n)
    ]


async def main(n: int, rounds: int, symbol: str) -> dict[str, float]:
    settings = Settings.from_env({"MOCK_QUOTE_LATENCY_MS": "0", "MOCK_SWAP_LATENCY_MS": "0"})
    markets = load_markets(DEFAULT_MARKETS_FILE)
    pools = {
        s: {v.venue: make_pool(v.kind, v.params).to_state() for v in m.venues}
        for s, m in markets.items()
        if m.launched
    }
    state = MarketState(markets, pools)
    owner = _Owner(settings.shards)
    writer = EventWriter("", None, "ch", "g", state.states, lambda s: (0, True), owner)  # type: ignore[arg-type]
    chain = MockChain(settings, 1)
    stop = asyncio.Event()
    roster = Roster(1024, stop)
    in_doubt = InDoubt("bench", chain, roster, lambda: [symbol], stop)
    executor = Executor(settings, writer, chain, None, state, roster.spawn, in_doubt)  # type: ignore[arg-type]
    passes = BatchExecutor(executor, writer, chain, state, roster, lambda _symbol: None)
    roster.bind(executor.run, passes.ready, passes.run)
    best: dict[str, float] = {}
    done = 0
    for _ in range(rounds):
        orders = _orders(markets, symbol, n)
        for o in orders:
            roster._take(o)  # noqa: SLF001 - as spawn_many takes them
        t0 = time.perf_counter()
        passes._pass(orders)  # noqa: SLF001 - the pass itself, no rate limit wait
        t1 = time.perf_counter()
        batch = writer._queue  # noqa: SLF001
        writer._queue = []  # noqa: SLF001
        now = datetime.now(UTC)
        r = rows(batch, now, owner.shard)
        t2 = time.perf_counter()
        got: dict[tuple[str, int], Position] = {}
        ids = list(range(done * 5 + 1, done * 5 + 1 + len(r["events"])))
        store._event_lines(r["events"], ids, dict.fromkeys(range(settings.shards), 0), got)  # noqa: SLF001
        t3 = time.perf_counter()
        ts = iso(now)
        for c in batch:
            frame_of(c, got[(c.order.id, c.seq)], ts)
        t4 = time.perf_counter()
        for c in batch:
            if c.done is not None:
                c.done.cancel()
        assert all(o.status == "filled" for o in orders), {o.status for o in orders}
        for o in orders:
            roster.ended(o.id)
        # the best round of each stage (the machine is shared: the others' noise only adds)
        stages = {"pass": t1 - t0, "rows": t2 - t1, "copy text": t3 - t2, "frames": t4 - t3}
        for k, v in stages.items():
            best[k] = min(best.get(k, v), v)
        done += n
    return {k: v / n * 1e6 for k, v in best.items()}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("-n", type=int, default=256, help="orders a pass")
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--symbol", default="SOL/USDC")
    a = p.parse_args()
    us = asyncio.run(main(a.n, a.rounds, a.symbol))
    for k, v in us.items():
        print(f"{k:10s} {v:7.1f} us/order")
    print(f"{'total':10s} {sum(us.values()):7.1f} us/order")
