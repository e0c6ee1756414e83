from collections.abc import Iterable, Mapping, Sequence

from engine_core.amm import Pool
from engine_core.router import Route

def plan_fill(
    pools: Mapping[str, Pool],
    side: str,
    amount: int,
    makers: Iterable[tuple[int, int]],
    limit_price_raw: int | None,
    base_decimals: int,
) -> tuple[int, Route | None]:
    """(book_qty, venue route) filling `amount` best for the taker, book and venues together."""

def take_makers(
    crossing: Sequence[tuple[int, int, int]], qty: int
) -> list[tuple[int, int, int]]: ...
