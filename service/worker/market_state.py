"""The pools of the markets one worker owns, in memory, as engine_core objects."""

from __future__ import annotations

from typing import Any

from engine_core.pools import pool_from_state
from service.markets import Market


class MarketState:
    def __init__(self, markets: dict[str, Market], states: dict[str, dict[str, dict[str, Any]]]):
        self.markets = markets
        self._pools: dict[str, dict[str, Any]] = {
            symbol: {venue: pool_from_state(state) for venue, state in venues.items()}
            for symbol, venues in states.items()
        }

    def pools(self, symbol: str) -> dict[str, Any]:
        return self._pools.get(symbol, {})

    def replace(self, symbol: str, pools: dict[str, Any]) -> None:
        self._pools[symbol] = pools

    def states(self, symbol: str) -> list[tuple[str, dict[str, Any]]]:
        return [(venue, pool.to_state()) for venue, pool in sorted(self.pools(symbol).items())]
