"""What one worker owns of its markets, in memory: the venues' pools (engine_core pool
objects), each market's order book of resting orders, and the reference price."""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine_core.book import Book
from engine_core.limits import venue_quotes
from engine_core.pools import pool_from_state
from service.domain.markets import Market
from service.domain.order import LiveOrder


class MarketState:
    def __init__(
        self,
        markets: dict[str, Market],
        pools: dict[str, dict[str, dict[str, Any]]] | None = None,
        refs: dict[str, tuple[Decimal, bool]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.markets = markets
        self._clock = clock  # seconds; drives the DLMM pools' volatility fee (set_clock)
        self._pools: dict[str, dict[str, Any]] = {}
        self.reference: dict[str, Decimal] = {}
        self.books: dict[str, Book] = {}
        # (symbol, venue) -> the version of the pool row as last stored (None: no row yet)
        self.versions: dict[tuple[str, str], int | None] = {}
        self.resting: dict[int, LiveOrder] = {}
        self.by_id: dict[str, LiveOrder] = {}  # the resting ones, by order id
        self._handles = itertools.count(1)
        self._clients: dict[str, int] = {}
        self._expiries: list[tuple[float, int]] = []
        self.add(pools or {}, refs or {}, None)

    # -- markets taken and dropped (a shard's) --
    def add(
        self,
        pools: dict[str, dict[str, dict[str, Any]]],
        refs: dict[str, tuple[Decimal, bool]],
        versions: dict[tuple[str, str], int] | None,
    ) -> None:
        """Take these markets as PostgreSQL has them (`versions`: the pool rows')."""
        for symbol, venues in pools.items():
            self._pools[symbol] = {venue: pool_from_state(st) for venue, st in venues.items()}
            self.books[symbol] = Book()
            for venue in venues:
                self.versions[(symbol, venue)] = (versions or {}).get((symbol, venue), 0)
        for symbol, (ref, _) in refs.items():
            self.reference[symbol] = ref

    def drop(self, symbols: set[str]) -> None:
        """Forget these markets: pools, books, resting orders (another owner has them)."""
        for symbol in symbols:
            self._pools.pop(symbol, None)
            self.books.pop(symbol, None)
            self.reference.pop(symbol, None)
        for key in [k for k in self.versions if k[0] in symbols]:
            del self.versions[key]
        for handle in [h for h, o in self.resting.items() if o.symbol in symbols]:
            order = self.resting.pop(handle)
            self.by_id.pop(order.id, None)

    def stored(self, rows: list[tuple[str, str]]) -> None:
        """These pool rows were written (their version rose by one, or they were inserted)."""
        for key in rows:
            if key in self.versions:  # else dropped meanwhile
                v = self.versions[key]
                self.versions[key] = 1 if v is None else v + 1

    # -- pools --
    def pools(self, symbol: str) -> dict[str, Any]:
        """The market's pools, their clocks moved to now (a DLMM pool's variable fee decays
        with the time since its last swap; the clock never goes back)."""
        pools = self._pools.get(symbol, {})
        now = int(self._clock())
        for pool in pools.values():
            set_clock = getattr(pool, "set_clock", None)
            if set_clock is not None:
                set_clock(now)
        return pools

    def launched(self, symbol: str) -> bool:
        return bool(self._pools.get(symbol))

    def replace(self, symbol: str, pools: dict[str, Any]) -> None:
        self._pools[symbol] = pools

    def open_pool(self, symbol: str, venue: str, pool: Any) -> None:
        self._pools.setdefault(symbol, {})[venue] = pool
        self.versions.setdefault((symbol, venue), None)

    def states(self, symbol: str) -> list[tuple[str, dict[str, Any]]]:
        return [(venue, pool.to_state()) for venue, pool in sorted(self.pools(symbol).items())]

    def quotes(self, symbol: str) -> tuple[int | None, int | None]:
        """(best venue ask, best venue bid) as price_raw, fees included."""
        return venue_quotes(self.pools(symbol), self.markets[symbol].base.decimals)

    # -- the book --
    def client(self, client_id: str) -> int:
        return self._clients.setdefault(client_id, len(self._clients) + 1)

    def rest(self, order: LiveOrder, seq: int = -1) -> None:
        """Put the order's remainder in its market's book (time priority `seq`, kept when
        an order comes back after an execution)."""
        if not order.handle:
            order.handle = next(self._handles)
        book = self.books[order.symbol]
        book.add(
            order.handle,
            order.side,
            order.limit_price,
            order.remaining,
            self.client(order.client_id),
            order.book_seq,
        )
        order.book_seq = int(book.get(order.handle)[4])
        self.resting[order.handle] = order
        self.by_id[order.id] = order
        if order.expires_at is not None:
            heapq.heappush(self._expiries, (order.expires_at.timestamp(), order.handle))

    def unrest(self, order: LiveOrder) -> bool:
        """Take the order out of the book (it keeps its time priority in book_seq)."""
        book = self.books[order.symbol]
        self.resting.pop(order.handle, None)
        self.by_id.pop(order.id, None)
        if order.handle and order.handle in book:
            book.remove(order.handle)
            return True
        return False

    def expired(self, now: float) -> list[LiveOrder]:
        """Resting orders whose expiresAt has passed, taken out of the book."""
        out = []
        while self._expiries and self._expiries[0][0] <= now:
            _, handle = heapq.heappop(self._expiries)
            order = self.resting.get(handle)
            if order is not None and order.expires_at and order.expires_at.timestamp() <= now:
                self.unrest(order)
                out.append(order)
        return out

    def is_resting(self, order: LiveOrder) -> bool:
        return bool(order.handle) and order.handle in self.books[order.symbol]
