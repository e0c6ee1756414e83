"""Roster.drop stops every execution of the markets dropped, also one whose order has already
left `known` (its final change queued, forget_finished ran) while it waits for that change."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from service.worker.roster import Roster


@dataclass
class Held:
    id: str
    symbol: str
    status: str = "pending"


def test_drop_cancels_an_execution_whose_order_already_left_known() -> None:
    async def main() -> tuple[bool, bool]:
        roster = Roster(8, asyncio.Event())
        loop = asyncio.get_running_loop()
        stored: dict[str, asyncio.Future[None]] = {}

        async def run(order: Held) -> None:
            order.status = "filled"  # queued, in memory final at once
            stored[order.id] = loop.create_future()
            await stored[order.id]  # not stored yet (for "a": never, its shard was lost)

        roster.bind(run)
        dropped, kept = Held("a", "SOL/USDC"), Held("b", "ETH/USDT")
        roster.spawn(dropped)  # type: ignore[arg-type]
        roster.spawn(kept)  # type: ignore[arg-type]
        await asyncio.sleep(0)
        roster.forget_finished()
        assert "a" not in roster.known and "a" in roster.inflight
        tasks = set(roster.tasks)
        roster.drop({"SOL/USDC"})
        done, _ = await asyncio.wait(tasks, timeout=0.3)
        stored["b"].set_result(None)
        await asyncio.wait(tasks, timeout=1)
        return len(done) == 1, "a" not in roster.inflight

    one_ended, gone = asyncio.run(main())
    assert one_ended and gone
