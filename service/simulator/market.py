"""The simulated market of one worker's markets: a seeded random walk of each reference
price, and outside traders who swap against every pool so that each venue follows the
reference with its own offset, the two venues kept apart by SIM_BAND_BPS."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from service.config import Settings
from service.simulator.price import PriceProcess, Rng, derive_seed, move_to_price

if TYPE_CHECKING:  # the worker hands its market state in; the simulator never imports it
    from service.worker.market_state import MarketState

X64 = 1 << 64
# Prices /sim/price may set, in Q64.64 base units: what the pools' 128-bit products hold.
MIN_PRICE_X64 = 1 << 8
MAX_PRICE_X64 = 1 << 96


def price_to_x64(price: Decimal, base_decimals: int, quote_decimals: int) -> int:
    """Quote tokens per whole base token -> quote base units per base base unit, Q64.64."""
    return int(price.scaleb(quote_decimals - base_decimals) * X64)


def x64_to_price(x64: int, base_decimals: int, quote_decimals: int) -> Decimal:
    return (Decimal(x64) / X64).scaleb(base_decimals - quote_decimals)


class Simulator:
    def __init__(self, settings: Settings, state: MarketState) -> None:
        self._settings = settings
        self._state = state
        self._processes: dict[str, PriceProcess] = {}
        self._rngs: dict[str, Rng] = {}
        self._sign: dict[str, int] = {}

    def forget(self, symbols: set[str]) -> None:
        """These markets moved to another worker: started again from their stored price if
        they come back."""
        for symbol in symbols:
            self._processes.pop(symbol, None)
            self._rngs.pop(symbol, None)
            self._sign.pop(symbol, None)

    def _process(self, symbol: str) -> PriceProcess:
        proc = self._processes.get(symbol)
        if proc is None:
            m = self._state.markets[symbol]
            seed = derive_seed(self._settings.sim_seed, symbol)
            x64 = price_to_x64(self._state.reference[symbol], m.base.decimals, m.quote.decimals)
            proc = PriceProcess(
                seed, x64, m.drift, m.volatility, self._settings.sim_tick_ms / 1000 or 1.0
            )
            self._processes[symbol] = proc
            self._rngs[symbol] = Rng(derive_seed(self._settings.sim_seed, symbol + ":venues"))
            self._sign[symbol] = 1
        return proc

    def tick(self, symbol: str) -> bool:
        """One step of the walk and of the outside traders; whether any pool moved."""
        if not self._state.launched(symbol):
            return False
        proc = self._process(symbol)
        ref = proc.step()
        return self._follow(symbol, ref)

    def set_price(self, symbol: str, price: Decimal) -> bool:
        """POST /sim/price: the reference jumps there and every pool is moved to it by real
        swaps (no offset, so a test knows where the venues are). A price the integer math
        cannot hold (or PostgreSQL store) raises ValueError before anything changes."""
        m = self._state.markets[symbol]
        if not price.is_finite() or price <= 0 or not -40 <= price.adjusted() <= 40:
            raise ValueError(f"price {price} out of range")
        x64 = price_to_x64(price, m.base.decimals, m.quote.decimals)
        if not MIN_PRICE_X64 <= x64 < MAX_PRICE_X64:
            raise ValueError(f"price {price} out of range")
        pools, moved = self._moved(symbol, {venue: x64 for venue in self._state.pools(symbol)})
        self._process(symbol).set_price_x64(x64)
        self._state.reference[symbol] = price
        if moved:
            self._state.replace(symbol, pools)
        return moved

    def _follow(self, symbol: str, ref_x64: int) -> bool:
        m = self._state.markets[symbol]
        self._state.reference[symbol] = x64_to_price(ref_x64, m.base.decimals, m.quote.decimals)
        rng = self._rngs[symbol]
        if rng.uniform() < 0.05:
            self._sign[symbol] = -self._sign[symbol]  # the venues trade places now and then
        lo, hi = self._settings.sim_band_bps
        targets: dict[str, int] = {}
        for i, venue in enumerate(sorted(self._state.pools(symbol))):
            half = rng.randint(lo // 2, hi // 2)
            direction = self._sign[symbol] * (1 if i % 2 == 0 else -1)
            targets[venue] = ref_x64 * (10_000 + direction * half) // 10_000
        return self._move(symbol, targets)

    def _move(self, symbol: str, targets: dict[str, int]) -> bool:
        pools, moved = self._moved(symbol, targets)
        if moved:
            self._state.replace(symbol, pools)
        return moved

    def _moved(self, symbol: str, targets: dict[str, int]) -> tuple[dict[str, Any], bool]:
        """Copies of the market's pools moved to these prices, and whether any moved."""
        pools: dict[str, Any] = {v: p.copy() for v, p in self._state.pools(symbol).items()}
        moved = False
        for venue, target in targets.items():
            _, amount, _, _ = move_to_price(pools[venue], target)
            moved = moved or amount > 0
        return pools, moved
