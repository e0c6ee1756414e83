# distutils: language = c++
"""The resting orders of one market, in price-time priority (one book per market, owned by
the market's worker: single-threaded, no locks).

Each side is a std::set of (rank, seq, handle) keys, best first, beside a hash map from
handle to order. rank encodes the price so that both sides iterate best-first in ascending
order: a buy at price p has rank 2**128 - 1 - p, a sell rank p + 1, and an order with no
limit price rank 0 (ahead of every priced order of its side: a buy with no cap bids +inf, a
sell with no cap asks for nothing). So "the orders a venue price makes executable" and "the
orders an incoming order crosses" are a prefix of one set: O(log n) to find its start (or
none, for executable), then O(k) for the k orders returned.

Prices are ints, quote base units per whole base token (`price_raw`), 0 .. 2**127 - 1;
quantities are base units (C long long).
"""

from cython.operator cimport dereference as deref, preincrement as inc
from cpython.long cimport PyLong_FromUnsignedLongLong
from libc.stdint cimport uint64_t
from libc.limits cimport LLONG_MIN
from libcpp cimport bool as cbool

cdef u128 U128_MAX = ~(<u128>0)
cdef u128 U64_MASK = 0xFFFFFFFFFFFFFFFF
MAX_PRICE = 2**127 - 1
cdef object _PRICE_CLAMP = 2**127          # any price above MAX_PRICE behaves like this one


# -- conversions --
cdef inline object py_u128(u128 v):
    if (v >> 64) == 0:
        return PyLong_FromUnsignedLongLong(<uint64_t>v)
    return (PyLong_FromUnsignedLongLong(<uint64_t>(v >> 64)) << 64) | PyLong_FromUnsignedLongLong(
        <uint64_t>v)


cdef inline u128 u128_of(object v):
    """A Python int in 0 .. 2**128 - 1 as u128 (the caller checked the range)."""
    if v <= 0xFFFFFFFFFFFFFFFF:
        return <uint64_t>v
    return ((<u128><uint64_t>(v >> 64)) << 64) | <uint64_t>(v & 0xFFFFFFFFFFFFFFFF)


cdef inline int check_int(object v, str what) except -1:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{what} must be an int (base units), got {type(v).__name__}")
    return 0


cdef inline cbool side_arg(str side) except *:
    if side == "buy":
        return True
    if side == "sell":
        return False
    raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")


cdef inline u128 rank_of(cbool buy, cbool capped, u128 price) noexcept nogil:
    if not capped:
        return 0
    return U128_MAX - price if buy else price + 1


cdef inline BookKey key_of(long long handle, BookOrder* o) noexcept nogil:
    cdef BookKey k
    k.rank = rank_of(o.buy, o.capped, o.price)
    k.seq = o.seq
    k.handle = handle
    k.client = o.client
    return k


cdef class Book:
    """Resting orders by handle; see the module doc for the ordering."""

    def __init__(self):
        self.next_seq = 0

    # -- QUERIES --
    def __len__(self):
        return self.orders.size()

    def __contains__(self, handle):
        if isinstance(handle, bool) or not isinstance(handle, int):
            return False
        if not (-2**63 <= handle < 2**63):
            return False
        return self.orders.count(<long long>handle) != 0

    def get(self, long long handle):
        """(side, price_raw or None, remaining, client, seq); KeyError when not resting."""
        it = self.orders.find(handle)
        if it == self.orders.end():
            raise KeyError(handle)
        cdef BookOrder* o = &deref(it).second
        return ("buy" if o.buy else "sell", py_u128(o.price) if o.capped else None,
                o.remaining, o.client, o.seq)

    def handles(self):
        """Every resting handle, in no particular order."""
        out = []
        for kv in self.orders:
            out.append(kv.first)
        return out

    def best_bid(self):
        """The highest priced buy (orders with no cap are not counted: they have no price);
        None when there is none."""
        cdef BookKey lo
        lo.rank = 1
        lo.seq = LLONG_MIN
        lo.handle = LLONG_MIN
        it = self.bids.lower_bound(lo)
        if it == self.bids.end():
            return None
        return py_u128(U128_MAX - deref(it).rank)

    def best_ask(self):
        """The lowest priced sell (orders with no cap are not counted); None when none."""
        cdef BookKey lo
        lo.rank = 1
        lo.seq = LLONG_MIN
        lo.handle = LLONG_MIN
        it = self.asks.lower_bound(lo)
        if it == self.asks.end():
            return None
        return py_u128(deref(it).rank - 1)

    def crossing(self, str side, object price_raw, long long qty, long long exclude_client):
        """The resting orders of the other side that an incoming `side` order with limit
        `price_raw` (None: a market order) would match, best first, as
        [(handle, maker_price_raw, fill_qty)] with sum(fill_qty) <= qty. Skips the orders
        of `exclude_client` (self-trade prevention) and the orders with no limit price
        (they have no price to trade at). Changes nothing."""
        cdef cbool buy = side_arg(side)
        cdef u128 limit = 0
        if qty < 0:
            raise ValueError(f"qty must be >= 0, got {qty}")
        if price_raw is not None:
            check_int(price_raw, "price_raw")
            if price_raw < 0:
                raise ValueError(f"price_raw must be >= 0, got {price_raw}")
            limit = u128_of(min(price_raw, _PRICE_CLAMP))
        return self.crossing_c(buy, price_raw is not None, limit, qty, exclude_client)

    cdef list crossing_c(self, cbool buy, cbool capped, u128 limit, long long qty,
                         long long exclude_client):
        cdef cpp_set[BookKey]* other = &self.asks if buy else &self.bids
        cdef u128 rank_max = U128_MAX
        cdef BookKey lo
        cdef long long left = qty, fill, rem
        cdef list out = []
        if capped:
            rank_max = limit + 1 if buy else U128_MAX - limit
        lo.rank = 1                       # skip the orders with no limit price (rank 0)
        lo.seq = LLONG_MIN
        lo.handle = LLONG_MIN
        it = other.lower_bound(lo)
        while left > 0 and it != other.end() and deref(it).rank <= rank_max:
            if deref(it).client != exclude_client:
                rem = deref(self.orders.find(deref(it).handle)).second.remaining
                fill = rem if rem < left else left
                left -= fill
                out.append((deref(it).handle,
                            py_u128(U128_MAX - deref(it).rank if not buy else deref(it).rank - 1),
                            fill))
            inc(it)
        return out

    def executable(self, object venue_ask_raw, object venue_bid_raw):
        """Handles of the resting buys with price >= venue_ask_raw (and every buy with no
        cap), then of the resting sells with price <= venue_bid_raw (and every sell with no
        cap), each side in priority order. None for a venue price skips that side.
        O(log n + k)."""
        cdef u128 buy_max = 0, sell_max = 0
        if venue_ask_raw is not None:
            check_int(venue_ask_raw, "venue_ask_raw")
            # price >= ask  <=>  rank = MAX - price <= MAX - ask
            buy_max = U128_MAX - u128_of(max(0, min(venue_ask_raw, _PRICE_CLAMP)))
        if venue_bid_raw is not None:
            check_int(venue_bid_raw, "venue_bid_raw")
            # price <= bid  <=>  rank = price + 1 <= bid + 1; a negative bid: no cap only
            sell_max = 0 if venue_bid_raw < 0 else u128_of(min(venue_bid_raw, _PRICE_CLAMP)) + 1
        return self.executable_c(venue_ask_raw is not None, buy_max,
                                 venue_bid_raw is not None, sell_max)

    cdef list executable_c(self, cbool with_buys, u128 buy_rank_max, cbool with_sells,
                           u128 sell_rank_max):
        cdef list out = []
        if with_buys:
            it = self.bids.begin()
            while it != self.bids.end() and deref(it).rank <= buy_rank_max:
                out.append(deref(it).handle)
                inc(it)
        if with_sells:
            it = self.asks.begin()
            while it != self.asks.end() and deref(it).rank <= sell_rank_max:
                out.append(deref(it).handle)
                inc(it)
        return out

    # -- COMMANDS --
    def add(self, long long handle, str side, object price_raw, long long remaining,
            long long client, long long seq=-1):
        """Rest an order. price_raw None: no limit price. seq: time priority (-1: the next
        of the book's counter; pass the stored seq when rebuilding, to keep the order's
        place). ValueError for a handle already resting or remaining <= 0."""
        cdef cbool buy = side_arg(side)
        cdef u128 price = 0
        if price_raw is not None:
            check_int(price_raw, "price_raw")
            if not 0 <= price_raw <= MAX_PRICE:
                raise ValueError(f"price_raw must be in 0 .. 2**127 - 1, got {price_raw}")
            price = u128_of(price_raw)
        if remaining <= 0:
            raise ValueError(f"remaining must be > 0, got {remaining}")
        if seq < -1:
            raise ValueError(f"seq must be >= 0 (or -1 for the next), got {seq}")
        self.add_c(handle, buy, price_raw is not None, price, remaining, client, seq)

    cdef int add_c(self, long long handle, cbool buy, cbool capped, u128 price,
                   long long remaining, long long client, long long seq) except -1:
        cdef BookOrder o
        if self.orders.count(handle):
            raise ValueError(f"order {handle} is already in the book")
        if seq < 0:
            seq = self.next_seq
        if seq >= self.next_seq:
            self.next_seq = seq + 1
        o.price = price
        o.remaining = remaining
        o.client = client
        o.seq = seq
        o.buy = buy
        o.capped = capped
        self.orders[handle] = o
        if buy:
            self.bids.insert(key_of(handle, &o))
        else:
            self.asks.insert(key_of(handle, &o))
        return 0

    def remove(self, long long handle):
        """Take the order out; False when it was not resting."""
        return self.remove_c(handle)

    cdef cbool remove_c(self, long long handle):
        it = self.orders.find(handle)
        if it == self.orders.end():
            return False
        cdef BookKey k = key_of(handle, &deref(it).second)
        if deref(it).second.buy:
            self.bids.erase(k)
        else:
            self.asks.erase(k)
        self.orders.erase(it)
        return True

    def set_remaining(self, long long handle, long long remaining):
        """Change what is left of a resting order (its place is kept); 0 removes it.
        KeyError when not resting."""
        if remaining < 0:
            raise ValueError(f"remaining must be >= 0, got {remaining}")
        it = self.orders.find(handle)
        if it == self.orders.end():
            raise KeyError(handle)
        if remaining == 0:
            self.remove_c(handle)
        else:
            (&deref(it).second).remaining = remaining

    def match(self, str side, object price_raw, long long qty, long long exclude_client):
        """crossing(), applied: the makers' remaining go down, filled makers leave."""
        fills = self.crossing(side, price_raw, qty, exclude_client)
        self.apply_fills_c(fills)
        return fills

    cdef int apply_fills_c(self, list fills) except -1:
        cdef long long handle, fill
        cdef BookOrder* o
        for t in fills:
            handle = t[0]
            fill = t[2]
            # through a pointer: an augmented assignment on deref(it) updates a copy
            o = &deref(self.orders.find(handle)).second
            if o.remaining <= fill:
                self.remove_c(handle)
            else:
                o.remaining = o.remaining - fill
        return 0

    def __repr__(self):
        return (f"Book(orders={self.orders.size()}, best_bid={self.best_bid()}, "
                f"best_ask={self.best_ask()})")
