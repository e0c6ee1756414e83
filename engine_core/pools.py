"""Build venue pools from config params or stored state, by kind."""

from __future__ import annotations

from typing import Any

from engine_core.amm import CpmmPool, InsufficientLiquidity, Pool
from engine_core.dlmm import DlmmPool

__all__ = ["InsufficientLiquidity", "Pool", "CpmmPool", "DlmmPool", "make_pool", "pool_from_state"]

KINDS = ("cpmm", "dlmm")
CPMM_FEE_MODE = "input"  # a cpmm venue's fee_mode when markets.toml does not set one
DLMM_FEE_MODE = "input"  # a dlmm venue's (Meteora's InputOnly) when markets.toml sets none


def make_pool(kind: str, params: dict[str, Any]) -> Pool:
    """A pool at its starting liquidity; params are integers (markets.toml keys, with the
    base_ / quote_ amounts already in base units).

    cpmm: base_reserve, quote_reserve, fee_bps (default 25), fee_mode ("input", the
    default: Raydium's swap_base_input, a sell's fee off the base put in; or "output", off
    the quote paid out).
    dlmm: bin_step, active_id, bins_each_side, base_per_bin, quote_per_bin, and optionally
    fee_bps, variable_fee_control, max_volatility_accumulator, filter_period, decay_period,
    reduction_factor, fee_mode ("input", the default: Meteora's InputOnly, the fee off the
    input token, a sell's off the base put in; or "quote", Meteora's OnlyY: a sell's fee
    off the quote paid out) (see engine_core/dlmm.pyx). A stored pool keeps its own mode
    (pool_from_state: a state without one is "output" / "quote", the modes before).
    """
    if kind == "cpmm":
        unknown = set(params) - {"base_reserve", "quote_reserve", "fee_bps", "fee_mode"}
        if unknown:
            raise ValueError(f"unknown cpmm params: {sorted(unknown)}")
        try:
            return CpmmPool(
                params["base_reserve"],
                params["quote_reserve"],
                params.get("fee_bps", 25),
                params.get("fee_mode", CPMM_FEE_MODE),
            )
        except KeyError as e:
            raise ValueError(f"cpmm needs {e.args[0]}") from None
    if kind == "dlmm":
        return DlmmPool.from_params({"fee_mode": DLMM_FEE_MODE, **params})
    raise ValueError(f"unknown pool kind {kind!r}")


def pool_from_state(state: dict[str, Any]) -> Pool:
    """The pool that `pool.to_state()` described."""
    kind = state.get("kind")
    if kind == "cpmm":
        return CpmmPool.from_state(state)
    if kind == "dlmm":
        return DlmmPool.from_state(state)
    raise ValueError(f"unknown pool kind {kind!r}")
