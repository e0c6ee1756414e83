MAX_PRICE: int  # 2**127 - 1, the highest limit price a resting order may carry

class Book:
    """Resting orders of one market in price-time priority (single-threaded).

    Orders with no limit price (price_raw None) rank ahead of every priced order of their
    side (a buy with no cap bids +inf, a sell with no cap asks nothing); they are always
    executable against the venues and never match internally.
    """

    @property
    def next_seq(self) -> int: ...
    def __init__(self) -> None: ...
    # -- QUERIES --
    def __len__(self) -> int: ...
    def __contains__(self, handle: object, /) -> bool: ...
    def get(self, handle: int) -> tuple[str, int | None, int, int, int]:
        """(side, price_raw or None, remaining, client, seq); KeyError when absent."""
    def handles(self) -> list[int]: ...
    def best_bid(self) -> int | None:
        """Highest priced buy; buys with no cap are not counted."""
    def best_ask(self) -> int | None:
        """Lowest priced sell; sells with no cap are not counted."""
    def crossing(
        self, side: str, price_raw: int | None, qty: int, exclude_client: int
    ) -> list[tuple[int, int, int]]:
        """[(handle, maker_price_raw, fill_qty)] of the other side, best first, total <= qty;
        skips exclude_client's orders and orders with no cap. Changes nothing."""
    def executable(self, venue_ask_raw: int | None, venue_bid_raw: int | None) -> list[int]:
        """Buys with price >= ask (and uncapped buys), then sells with price <= bid (and
        uncapped sells), each side best first; None skips a side. O(log n + k)."""
    # -- COMMANDS --
    def add(
        self,
        handle: int,
        side: str,
        price_raw: int | None,
        remaining: int,
        client: int,
        seq: int = -1,
    ) -> None: ...
    def remove(self, handle: int) -> bool: ...
    def set_remaining(self, handle: int, remaining: int) -> None: ...
    def match(
        self, side: str, price_raw: int | None, qty: int, exclude_client: int
    ) -> list[tuple[int, int, int]]:
        """crossing(), applied to the makers (filled makers leave the book)."""
