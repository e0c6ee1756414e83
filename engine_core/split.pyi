from collections.abc import Iterable, Sequence

from engine_core.amm import Pool

class Venues:
    """Pools (and optionally the crossing makers, as one more venue) seen from one side."""

    sell: bool
    def __init__(
        self,
        pools: Sequence[Pool],
        side: str,
        makers: Iterable[tuple[int, int]] = (),
        base_decimals: int = 0,
        need: int | None = None,
    ) -> None: ...
    def allocate(self, amount: int) -> list[int]:
        """Amount per venue (pools in order, then the book) of the best split."""
    def value(self, i: int, amount: int) -> int | None: ...
    def depth(self, i: int, px: float) -> int: ...
    def __len__(self) -> int: ...
