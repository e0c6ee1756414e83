from collections.abc import Iterable, Mapping
from typing import Any

from engine_core.amm import Pool

class Leg:
    venue: str
    amount: int
    quote: int
    fee: int
    price_impact_bps: int
    def __init__(
        self, venue: str, amount: int, quote: int, fee: int, price_impact_bps: int = 0
    ) -> None: ...
    def to_dict(self) -> dict[str, Any]: ...

class Route:
    side: str
    amount: int
    legs: tuple[Leg, ...]
    quote_amount: int
    fees: int
    price_impact_bps: int
    def __init__(
        self, side: str, amount: int, legs: Iterable[Leg], price_impact_bps: int = 0
    ) -> None: ...
    @property
    def split(self) -> bool: ...
    def to_dict(self) -> dict[str, Any]: ...
    @staticmethod
    def from_dict(d: dict[str, Any]) -> Route: ...

def best_route(
    pools: Mapping[str, Pool], side: str, amount: int, allow_split: bool = True
) -> Route: ...
def execute_route(pools: Mapping[str, Pool], route: Route) -> Route: ...
