"""Build venue pools from config params or stored state, by kind."""

from __future__ import annotations

from typing import Any

from engine_core.amm import CpmmPool, InsufficientLiquidity, Pool

try:
    from engine_core.dlmm import DlmmPool
except ImportError:  # pragma: no cover - only while dlmm is not built yet
    DlmmPool = None  # type: ignore[assignment,misc]

__all__ = ["InsufficientLiquidity", "Pool", "CpmmPool", "DlmmPool", "make_pool", "pool_from_state"]

KINDS = ("cpmm", "dlmm")


def make_pool(kind: str, params: dict[str, int]) -> Pool:
    """A pool at its starting liquidity; params are integer base units (markets.toml keys)."""
    if kind == "cpmm":
        unknown = set(params) - {"base_reserve", "quote_reserve", "fee_bps"}
        if unknown:
            raise ValueError(f"unknown cpmm params: {sorted(unknown)}")
        try:
            return CpmmPool(
                params["base_reserve"], params["quote_reserve"], params.get("fee_bps", 25)
            )
        except KeyError as e:
            raise ValueError(f"cpmm needs {e.args[0]}") from None
    if kind == "dlmm" and DlmmPool is not None:
        return DlmmPool.from_params(params)
    raise ValueError(f"unknown pool kind {kind!r}")


def pool_from_state(state: dict[str, Any]) -> Pool:
    """The pool that `pool.to_state()` described."""
    kind = state.get("kind")
    if kind == "cpmm":
        return CpmmPool.from_state(state)
    if kind == "dlmm" and DlmmPool is not None:
        return DlmmPool.from_state(state)
    raise ValueError(f"unknown pool kind {kind!r}")
