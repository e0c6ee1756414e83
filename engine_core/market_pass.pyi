from collections.abc import Mapping

from engine_core.amm import Pool
from engine_core.router import Route

def fill_market_orders(
    pools: Mapping[str, Pool], orders: list[tuple[str, int, int]], base_decimals: int
) -> list[tuple[Route | None, int | None, Route | None, str | None]]:
    """One (route, bound, actual, reason) per market order, planned and landed in turn on
    `pools` (moved in place)."""
