"""Market commands, applied by the market's owner in stream order: cancel, and the
simulator's price moves and launches. Each answers the API on its reply list; a cancel of an
order in mid-execution answers when that execution ends, without holding up the stream.

Replies are `{"status": <HTTP-like code>, "code", "message", "field"}`; the API turns them
into its answer (`service.api.market_commands.raise_for_reply`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

import orjson
import redis.asyncio as aioredis

from service.domain.launch import launch_pool
from service.domain.markets import Market
from service.domain.order import LiveOrder
from service.domain.units import to_base_units
from service.simulator.market import Simulator
from service.store.worker import WorkerStore
from service.worker.batch_executor import BatchExecutor
from service.worker.executor import Executor
from service.worker.market_state import MarketState
from service.worker.roster import Roster
from service.worker.writer import EventWriter

log = logging.getLogger(__name__)

REPLY_TTL_S = 60
Reply = dict[str, Any]


class PoisonCommand(Exception):  # noqa: N818 - a kind of entry, not an error of ours
    """A command entry that was refused or failed: answered, and to be dead-lettered."""


def _not_cancelable(message: str) -> Reply:
    return {"status": 409, "code": "order_not_cancelable", "message": message}


class Commands:
    def __init__(
        self,
        markets: dict[str, Market],
        redis: aioredis.Redis,
        store: WorkerStore,
        roster: Roster,
        state: MarketState,
        executor: Executor,
        passes: BatchExecutor,
        writer: EventWriter,
        sim: Simulator,
    ) -> None:
        self._markets = markets
        self._redis = redis
        self._store = store
        self._roster = roster
        self._state = state
        self._executor = executor
        self._passes = passes
        self._writer = writer
        self._sim = sim

    async def apply(self, fields: dict[bytes, bytes]) -> None:
        """Apply one command entry and answer it. A command that cannot be decoded, names
        what does not exist, or carries a value refused (or one whose application failed)
        is answered with an error and raises PoisonCommand: the caller dead-letters it."""
        reply = fields.get(b"reply")
        try:
            cmd = fields[b"cmd"].decode()
            args = orjson.loads(fields.get(b"args", b"{}"))
            if not isinstance(args, dict):
                raise ValueError("args must be a JSON object")
        except (KeyError, UnicodeDecodeError, ValueError) as e:
            await self._reply(reply, {"status": 400, "code": "invalid_command"})
            raise PoisonCommand(f"undecodable command: {e}") from None
        result: Reply | Awaitable[Reply]
        try:
            if cmd == "cancel":
                result = await self._cancel(str(uuid.UUID(str(args["id"]))))
            elif cmd == "sim_price":
                result = await self._sim_price(args["symbol"], Decimal(str(args["price"])))
            elif cmd == "sim_launch":
                result = await self._sim_launch(args)
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except (KeyError, TypeError, ValueError, ArithmeticError) as e:
            # ArithmeticError: decimal's InvalidOperation, Overflow; ValueError: a bad id,
            # a value out of range. Nothing was changed.
            await self._reply(reply, {"status": 400, "code": "invalid_command"})
            raise PoisonCommand(f"command {cmd} refused: {type(e).__name__}: {e}") from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            # what it waited for was dropped with its shard (taken over meanwhile)
            result = {"status": 503, "code": "market_moved", "message": "retry"}
        except Exception as e:
            log.exception("command %s failed", cmd)
            await self._reply(reply, {"status": 500, "code": "internal_error"})
            raise PoisonCommand(f"command {cmd} failed: {type(e).__name__}: {e}") from None
        if isinstance(result, dict):
            await self._reply(reply, result)
        else:
            self._roster.background(self._reply_later(reply, result))

    async def _reply_later(self, reply: bytes | None, pending: Awaitable[Reply]) -> None:
        await self._reply(reply, await pending)

    async def _reply(self, reply: bytes | None, result: Reply) -> None:
        if reply:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.lpush(reply, orjson.dumps(result))
                pipe.expire(reply, REPLY_TTL_S)
                await pipe.execute()

    # -- cancel --
    async def _cancel(self, order_id: str) -> Reply | Awaitable[Reply]:
        order = self._roster.inflight.get(order_id)
        if order is not None:
            if order.type == "market":
                return _not_cancelable("a market order cannot be canceled once taken")
            order.cancel_requested = True  # ends `canceled` after its attempt, fills kept
            return self._when_done(order)
        resting = self._state.by_id.get(order_id)
        if resting is not None:
            await self._executor.outcomes.cancel_resting(resting)
            return self._cancel_result(resting)
        rows = await self._store.orders([order_id])
        if order_id in self._roster.inflight or order_id in self._state.by_id:
            return await self._cancel(order_id)  # taken meanwhile: as above
        taken = self._roster.taken_status(order_id)
        if taken is not None:
            return _not_cancelable(f"the order is {taken}")
        row = rows.get(order_id)
        if row is None:
            return {"status": 404, "code": "not_found"}
        if row.status == "pending" and row.symbol in self._state.books:
            pending = LiveOrder.from_row(row, self._markets[row.symbol])
            pending.cancel_requested = True
            self._roster.spawn(pending)
            return self._when_done(pending)
        return _not_cancelable(f"the order is {row.status}")

    async def _when_done(self, order: LiveOrder) -> Reply:
        while order.id in self._roster.inflight:
            await asyncio.sleep(0.01)
        return self._cancel_result(order)

    @staticmethod
    def _cancel_result(order: LiveOrder) -> Reply:
        if order.status == "canceled":
            return {"status": 200}
        return _not_cancelable(f"the order is {order.status}")

    # -- simulator --
    async def _sim_price(self, symbol: str, price: Decimal) -> Reply:
        if symbol not in self._state.books:
            raise ValueError(f"no market {symbol!r} here")
        if not self._state.launched(symbol):
            return {"status": 409, "code": "pool_not_open", "field": "symbol"}
        self._sim.set_price(symbol, price)
        await self._writer.touch(symbol)
        self._executor.trigger(symbol)
        return {"status": 200}

    async def _sim_launch(self, args: dict[str, Any]) -> Reply:
        symbol, venue = args["symbol"], args["venue"]
        if symbol not in self._state.books:
            raise ValueError(f"no market {symbol!r} here")
        market = self._markets[symbol]
        if venue in self._state.pools(symbol):
            return {
                "status": 409,
                "code": "already_launched",
                "field": "venue",
                "message": f"{venue} already has a {symbol} pool",
            }
        pool = launch_pool(
            market,
            venue,
            to_base_units(args["baseReserve"], market.base.decimals, "baseReserve"),
            to_base_units(args["quoteReserve"], market.quote.decimals, "quoteReserve"),
            int(args.get("feeBps", 25)),
        )
        self._state.open_pool(symbol, venue, pool)
        ask, _ = self._state.quotes(symbol)
        if ask is not None:
            self._state.reference[symbol] = Decimal(ask).scaleb(-market.quote.decimals)
        await self._writer.touch(symbol)
        log.info("launched %s on %s", symbol, venue)
        await self._passes.launch(symbol)
        return {"status": 200}
