"""A batch pass whose market's orders are planned and filled in one call into engine_core
(engine_core/market_pass.pyx) queues exactly the changes the one-at-a-time pass queues: the
same statuses in the same order, payloads, routes, fills, attempt and ledger rows, order
rows, and leaves the pools in the same state; and a pass found past a transaction's deadline
is undone and goes one at a time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from engine_core.pools import make_pool
from service.config import DEFAULT_MARKETS_FILE, Settings
from service.domain.markets import load_markets, shard_of
from service.domain.order import LiveOrder
from service.simulator.chain import MockChain
from service.worker.batch_executor import BatchExecutor, OneCall
from service.worker.executor import Executor
from service.worker.in_doubt import InDoubt
from service.worker.market_state import MarketState
from service.worker.roster import Roster
from service.worker.writer import EventWriter

MARKETS = load_markets(DEFAULT_MARKETS_FILE)
DIVERGED: list[str] = []  # the markets a pass gave up


class OneAtATime(BatchExecutor):
    """The pass as it was: every order on its own."""

    def _filled_in_one_call(self, orders: list[LiveOrder]) -> dict[str, OneCall]:
        return {}


class Noting(BatchExecutor):
    """The pass as it is, noting which orders the one call took."""

    took: list[str] = []

    def _filled_in_one_call(self, orders: list[LiveOrder]) -> dict[str, OneCall]:
        got = super()._filled_in_one_call(orders)
        Noting.took.extend(got)
        return got


class _Owner:
    def shard(self, symbol: str) -> int:
        return shard_of(symbol, 8)

    def pool_version(self, symbol: str, venue: str) -> int | None:
        return 0


def _order(oid: str, symbol: str, side: str, amount: int) -> LiveOrder:
    return LiveOrder(
        oid, "c-1", symbol, side, "market", "IOC", amount, None, 100, "pending", 1, 0, 0, 0, 0,
        None, None, datetime.now(UTC), None, MARKETS[symbol],
    )  # fmt: skip


def _world(kind: type[BatchExecutor]) -> tuple[BatchExecutor, EventWriter, MarketState, Roster]:
    settings = Settings.from_env({"MOCK_QUOTE_LATENCY_MS": "0", "MOCK_SWAP_LATENCY_MS": "0"})
    pools = {
        s: {v.venue: make_pool(v.kind, v.params).to_state() for v in m.venues}
        for s, m in MARKETS.items()
        if m.launched
    }
    state = MarketState(MARKETS, pools)
    writer = EventWriter("", None, "ch", "g", state.states, lambda s: (0, True), _Owner())  # type: ignore[arg-type]
    chain = MockChain(settings, 1)
    stop = asyncio.Event()
    roster = Roster(1024, stop)
    in_doubt = InDoubt("t", chain, roster, lambda: [], stop)
    ex = Executor(settings, writer, chain, None, state, roster.spawn, in_doubt)  # type: ignore[arg-type]
    passes = kind(ex, writer, chain, state, roster, DIVERGED.append)
    roster.bind(ex.run, passes.ready, passes.run)
    return passes, writer, state, roster


def _orders(spec: list[tuple[str, str, int]]) -> list[LiveOrder]:
    return [_order(str(uuid.UUID(int=i + 1)), *s) for i, s in enumerate(spec)]


def _queued(writer: EventWriter) -> list[tuple[Any, ...]]:
    out = []
    for c in writer._queue:  # noqa: SLF001
        chain = None if c.chain is None else (c.chain.signature, c.chain.landed)
        route = dict(c.route or {}, expiresAt=None)  # the time of the plan
        payload = dict(c.payload)
        if "route" in payload:
            payload["route"] = dict(payload["route"], expiresAt=None)
        out.append(
            (c.order.id, c.status, c.seq, payload, route, list(c.fills), c.attempt, c.pools,
             chain, c.final, c.row)
        )  # fmt: skip
    return out


def _run(kind: type[BatchExecutor], spec: list[tuple[str, str, int]]) -> tuple[Any, ...]:
    async def main() -> tuple[Any, ...]:
        passes, writer, state, roster = _world(kind)
        orders = _orders(spec)
        for o in orders:
            roster._take(o)  # noqa: SLF001 - as spawn_many takes them
        passes._pass(orders)  # noqa: SLF001 - the pass itself, no rate limit to wait for
        states = {s: state.states(s) for s in {o.symbol for o in orders}}
        for c in writer._queue:  # noqa: SLF001
            if c.done is not None:
                c.done.cancel()
        for task in list(roster.tasks):
            task.cancel()
        return _queued(writer), states, [(o.status, o.failure_reason) for o in orders]

    return asyncio.run(main())


def _units(symbol: str, tokens: float) -> int:
    return int(tokens * 10 ** MARKETS[symbol].base.decimals)


SPECS = {
    "both sides, two markets interleaved": [
        ("SOL/USDC", "buy", _units("SOL/USDC", 0.5)),
        ("ETH/USDT", "sell", _units("ETH/USDT", 0.05)),
        ("SOL/USDC", "sell", _units("SOL/USDC", 2)),
        ("SOL/USDC", "buy", _units("SOL/USDC", 0.01)),
        ("ETH/USDT", "buy", _units("ETH/USDT", 0.2)),
    ],
    "more than the pools hold, then orders that fit": [
        ("SOL/USDC", "buy", _units("SOL/USDC", 10**9)),
        ("SOL/USDC", "sell", _units("SOL/USDC", 1)),
        ("SOL/USDC", "buy", 1),  # a unit: moves nothing of the quote token
        ("SOL/USDC", "buy", _units("SOL/USDC", 3)),
    ],
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_one_call_queues_what_one_at_a_time_queues(name: str) -> None:
    spec = SPECS[name]
    Noting.took = []
    one_call = _run(Noting, spec)
    assert len(Noting.took) == len(spec)  # every order went through the one call
    alone = _run(OneAtATime, spec)
    assert one_call[0] == alone[0]  # every change, in order
    assert one_call[1] == alone[1]  # the pools after
    assert one_call[2] == alone[2]  # each order's status and reason
    assert len(one_call[0]) >= 2 * len(spec)


# (the retries after the backoff are cancelled before they start)
@pytest.mark.filterwarnings("ignore:coroutine 'Executor.retry_after_backoff' was never awaited")
def test_a_pass_past_a_deadline_is_undone_and_goes_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = SPECS["both sides, two markets interleaved"]
    monkeypatch.setattr(MockChain, "expired", staticmethod(lambda tx: True))
    one_call = _run(BatchExecutor, spec)
    alone = _run(OneAtATime, spec)
    assert one_call == alone
    # nothing filled: every first attempt failed past its deadline (a retry task has each
    # order now), the pools are as they were
    assert {c[1] for c in one_call[0]} == {"routing", "building", "submitted"}
    assert all(status == "submitted" for status, _ in one_call[2])
    _, _, untouched, _ = _world(BatchExecutor)
    assert one_call[1] == {s: untouched.states(s) for s in one_call[1]}


def test_a_crash_after_the_one_call_gives_the_market_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """An order whose fill the one call put in the pools, then crashed before its
    `confirmed` was queued: the market's pools here are ahead of what would be stored, so
    its shard is given up (as Ownership.lost does: executions, queued changes and state of
    the market dropped) and nothing more of it is queued; the other market goes on."""
    spec = SPECS["both sides, two markets interleaved"]
    real_confirm = Executor.confirm
    calls = []

    def confirm(self: Executor, order: LiveOrder, *args: Any, **kw: Any) -> None:
        calls.append(order.id)
        if len(calls) == 3:  # the second SOL/USDC order
            raise RuntimeError("a bug")
        real_confirm(self, order, *args, **kw)

    monkeypatch.setattr(Executor, "confirm", confirm)

    async def main() -> tuple[list[str], set[str], set[str]]:
        passes, writer, state, roster = _world(BatchExecutor)

        def lost(symbol: str) -> None:  # Ownership._forget's three steps
            DIVERGED.append(symbol)
            roster.drop({symbol})
            writer.drop({symbol})
            state.drop({symbol})

        passes._diverged = lost  # noqa: SLF001
        orders = _orders(spec)
        for o in orders:
            roster._take(o)  # noqa: SLF001
        DIVERGED.clear()
        passes._pass(orders)  # noqa: SLF001
        queued = {c.order.symbol for c in writer._queue}  # noqa: SLF001
        final = {c.order.id for c in writer._queue if c.final}  # noqa: SLF001
        for c in writer._queue:  # noqa: SLF001
            if c.done is not None:
                c.done.cancel()
        return list(DIVERGED), queued, final

    diverged, queued, final = asyncio.run(main())
    assert diverged == ["SOL/USDC"]
    assert queued == {"ETH/USDT"}  # nothing of SOL/USDC left to store
    eth = {o.id for o in _orders(spec) if o.symbol == "ETH/USDT"}
    assert final == eth  # the other market's orders went to their end
