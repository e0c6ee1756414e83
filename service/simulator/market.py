"""The simulated market of one worker's markets: a seeded random walk of each reference
price, and outside traders who swap against every pool so that each venue follows the
reference with its own offset, the two venues kept apart by SIM_BAND_BPS.

Each venue's offset from the reference (in bps) is a process of its own, smooth from tick to
tick: a mean-reverting (Ornstein-Uhlenbeck) walk, seeded from SIM_SEED, market and venue,
toward its side's centre, +-(N + M) / 4 for SIM_BAND_BPS = N-M (so the venues sit about
(N + M) / 2 apart, spread (M - N) / 4 each), bounded by +-M / 2. Now and then (every
FLIP_MEAN_S on average) the venues trade sides: only the centres flip, and each offset
travels there at the walk's pace (REVERSION_S), crossing the other venue's without a jump.
The noise of one tick is capped at 3 standard deviations, so one tick moves an offset by
at most `OffsetWalk.max_step_bps`."""

from __future__ import annotations

import math
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


REVERSION_S = 120.0  # the offsets' mean-reversion time
FLIP_MEAN_S = 600.0  # the mean time between the venues trading sides
NOISE_CAP = 3.0  # a tick's noise is capped at this many standard deviations


class OffsetWalk:
    """One venue's offset from the reference, in bps: a bounded Ornstein-Uhlenbeck walk
    toward `side * centre` (exact discretisation over `dt` seconds)."""

    def __init__(self, rng: Rng, band_bps: tuple[int, int], dt: float, start_bps: float) -> None:
        lo, hi = band_bps
        self.rng = rng
        self.centre = (lo + hi) / 4
        self.sigma = (hi - lo) / 4
        self.bound = hi / 2
        self.decay = math.exp(-dt / REVERSION_S)
        self.noise = self.sigma * math.sqrt(1 - self.decay * self.decay)
        self.bps = start_bps  # may start out of the band (markets.toml, a launch): it
        # comes back at the walk's pace, never by a jump

    @property
    def max_step_bps(self) -> float:
        """The most one step moves an offset within the band (the drift toward the far
        centre + the capped noise)."""
        return (1 - self.decay) * (self.centre + self.bound) + NOISE_CAP * self.noise

    def step(self, side: int) -> float:
        mean = side * self.centre
        z = max(-NOISE_CAP, min(NOISE_CAP, self.rng.normal()))
        x = mean + (self.bps - mean) * self.decay + self.noise * z
        limit = max(self.bound, abs(self.bps))
        self.bps = max(-limit, min(limit, x))
        return self.bps


def offset_bps(pool: Any, ref_x64: int) -> float:
    """How far the pool's spot price is from the reference, in bps."""
    return (pool.spot_price_x64() / ref_x64 - 1) * 10_000 if ref_x64 > 0 else 0.0


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
        self._offsets: dict[str, dict[str, OffsetWalk]] = {}

    def forget(self, symbols: set[str]) -> None:
        """These markets moved to another worker: started again from their stored price if
        they come back."""
        for symbol in symbols:
            self._processes.pop(symbol, None)
            self._rngs.pop(symbol, None)
            self._sign.pop(symbol, None)
            self._offsets.pop(symbol, None)

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
            self._sign[symbol] = 0  # set from where the venues are, at the first tick
            self._offsets[symbol] = {}
        return proc

    @property
    def _dt(self) -> float:
        return self._settings.sim_tick_ms / 1000 or 1.0

    def _walk(self, symbol: str, venue: str, pool: Any, ref_x64: int) -> OffsetWalk:
        """The venue's offset walk, started where its pool is (no jump at a start, a
        takeover or a launch)."""
        walks = self._offsets[symbol]
        walk = walks.get(venue)
        if walk is None:
            rng = Rng(derive_seed(self._settings.sim_seed, f"{symbol}:{venue}:offset"))
            walk = OffsetWalk(rng, self._settings.sim_band_bps, self._dt, offset_bps(pool, ref_x64))
            walks[venue] = walk
        return walk

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
        for walk in self._offsets.get(symbol, {}).values():
            walk.bps = 0.0  # the venues are at the price now; they drift apart from there
        self._state.reference[symbol] = price
        if moved:
            self._state.replace(symbol, pools)
        return moved

    def _follow(self, symbol: str, ref_x64: int) -> bool:
        m = self._state.markets[symbol]
        self._state.reference[symbol] = x64_to_price(ref_x64, m.base.decimals, m.quote.decimals)
        pools = self._state.pools(symbol)
        venues = sorted(pools)
        walks = [self._walk(symbol, v, pools[v], ref_x64) for v in venues]
        if self._sign[symbol] == 0:  # the first tick: the sides the venues are on now
            ahead = len(walks) < 2 or walks[0].bps >= walks[1].bps
            self._sign[symbol] = 1 if ahead else -1
        if self._rngs[symbol].uniform() < self._dt / FLIP_MEAN_S:
            self._sign[symbol] = -self._sign[symbol]  # the venues trade sides now and then
        targets: dict[str, int] = {}
        for i, (venue, walk) in enumerate(zip(venues, walks, strict=True)):
            side = self._sign[symbol] * (1 if i % 2 == 0 else -1)
            hundredths = round(walk.step(side) * 100)
            targets[venue] = ref_x64 * (1_000_000 + hundredths) // 1_000_000
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
