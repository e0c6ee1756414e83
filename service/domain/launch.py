"""The pool a venue opens for a market at a launch (POST /sim/launch): each venue its own
kind, holding exactly the reserves given.

raydium: a constant-product pool of the reserves.
meteora: a DLMM pool in Meteora's "spot" shape: the active bin is the one holding the
implied price quote/base, and `bins_each_side` bins either side hold equal amounts (base
above, quote below, about half of each in the active bin), so that all bins together hold
exactly the base and quote given. The bin step, the number of bins and the volatility-fee
params are the market's meteora config (markets.toml) if it has one, else Meteora-like
defaults for a new token (LAUNCH_DLMM).

(Built here from the core's public pieces, DlmmPool.from_state and bin_id_for_price_x64:
the core's DlmmPool constructor takes per-bin amounts, not totals.)
"""

from __future__ import annotations

from typing import Any

from engine_core.dlmm import bin_id_for_price_x64
from engine_core.pools import DLMM_FEE_MODE, Pool, make_pool, pool_from_state
from service.domain.markets import Market

VENUE_KINDS = {"raydium": "cpmm", "meteora": "dlmm"}

# A new token's DLMM: bins of 0.25 %, 200 each side (prices from /1.65 to x1.65 of the
# launch price), Meteora's volatility-fee defaults.
LAUNCH_DLMM: dict[str, int] = {
    "bin_step": 25,
    "bins_each_side": 200,
    "variable_fee_control": 40000,
    "max_volatility_accumulator": 350000,
    "filter_period": 30,
    "decay_period": 600,
    "reduction_factor": 5000,
}
_FEE_PARAMS = (
    "variable_fee_control",
    "max_volatility_accumulator",
    "filter_period",
    "decay_period",
    "reduction_factor",
)


def venue_kind(market: Market, venue: str) -> str:
    """The kind of pool `venue` runs: the market's config for it, else the venue's own."""
    for v in market.venues:
        if v.venue == venue:
            return v.kind
    try:
        return VENUE_KINDS[venue]
    except KeyError:
        raise ValueError(f"unknown venue {venue!r}") from None


def launch_pool(market: Market, venue: str, base: int, quote: int, fee_bps: int) -> Pool:
    """The venue's pool holding `base` and `quote` (base units, both > 0)."""
    if base <= 0 or quote <= 0:
        raise ValueError("a pool needs base and quote reserves > 0")
    kind = venue_kind(market, venue)
    if kind == "cpmm":
        return make_pool("cpmm", {"base_reserve": base, "quote_reserve": quote, "fee_bps": fee_bps})
    config = dict(LAUNCH_DLMM)
    fee_mode = DLMM_FEE_MODE
    for v in market.venues:
        if v.venue == venue and v.kind == "dlmm":
            config.update({k: v.params[k] for k in ("bin_step", "bins_each_side") if k in v.params})
            config.update({k: v.params[k] for k in _FEE_PARAMS if k in v.params})
            fee_mode = v.params.get("fee_mode", fee_mode)
    return spot_dlmm(base, quote, fee_bps, config, fee_mode)


def spot_dlmm(
    base: int, quote: int, fee_bps: int, config: dict[str, int], fee_mode: str = DLMM_FEE_MODE
) -> Pool:
    """A DLMM pool of equal bins around the price quote/base holding exactly base, quote;
    `fee_mode` as DlmmPool's (Meteora's InputOnly, "input", by default)."""
    bin_step = config["bin_step"]
    active = bin_id_for_price_x64((quote << 64) // base, bin_step)
    n = config["bins_each_side"]
    # n bins each side and half a bin in the active one: 2n + 1 halves; fewer bins if the
    # reserves are too small to give every bin some of each
    while n > 0 and (2 * base // (2 * n + 1) == 0 or 2 * quote // (2 * n + 1) == 0):
        n //= 2
    per_base = 2 * base // (2 * n + 1)
    per_quote = 2 * quote // (2 * n + 1)
    runs: list[list[Any]] = []
    if n:
        runs.append([n, "0", str(per_quote)])
    runs.append([1, str(base - n * per_base), str(quote - n * per_quote)])
    if n:
        runs.append([n, str(per_base), "0"])
    state: dict[str, Any] = {
        "kind": "dlmm",
        "bin_step": bin_step,
        "fee_bps": fee_bps,
        "fee_mode": fee_mode,
        **{k: config[k] for k in _FEE_PARAMS},
        "lo_id": active - n,
        "bins": runs,
        "active_id": active,
        "volatility_accumulator": 0,
        "volatility_reference": 0,
        "index_reference": active,
        "last_update": 0,
        "clock": 0,
        "fees_quote": "0",
    }
    return pool_from_state(state)
