from collections.abc import Mapping

from engine_core.amm import Pool
from engine_core.router import Route

Q64: int
BPS: int
DLMM_FEE_PRECISION: int
U64_MAX: int

def venue_quotes(pools: Mapping[str, Pool], base_decimals: int) -> tuple[int | None, int | None]:
    """(best_ask_raw, best_bid_raw): marginal prices with the fee, ask rounded up, bid down."""

def within_limit(route: Route, limit_price_raw: int | None, base_decimals: int) -> bool: ...
def max_fill_within_limit(
    pools: Mapping[str, Pool],
    side: str,
    amount: int,
    limit_price_raw: int | None,
    base_decimals: int,
) -> Route | None:
    """Best route of the largest a <= amount within the limit (bisection), or None."""

def fok_fillable(
    pools: Mapping[str, Pool],
    side: str,
    amount: int,
    limit_price_raw: int | None,
    base_decimals: int,
) -> Route | None:
    """Best route of the whole amount when within the limit, else None."""
