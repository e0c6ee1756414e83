from libcpp cimport bool as cbool
from libcpp.set cimport set as cpp_set
from libcpp.unordered_map cimport unordered_map

cdef extern from *:
    """
    /* One resting order's place in its side of the book. `rank` orders the side from the
       best price to the worst (uncapped orders rank 0, ahead of every priced order), `seq`
       is time priority, `handle` breaks ties. `client` rides along (not compared), so
       self-trade prevention does not need a lookup. */
    struct BookKey {
        unsigned __int128 rank;
        long long seq;
        long long handle;
        long long client;
        bool operator<(const BookKey& o) const {
            if (rank != o.rank) return rank < o.rank;
            if (seq != o.seq) return seq < o.seq;
            return handle < o.handle;
        }
    };
    """
    ctypedef unsigned long long u128 "unsigned __int128"

    cdef cppclass BookKey:
        u128 rank
        long long seq
        long long handle
        long long client


ctypedef struct BookOrder:
    u128 price            # quote base units per whole base token (0 when uncapped)
    long long remaining   # base units, > 0 while in the book
    long long client
    long long seq
    cbool buy
    cbool capped          # False: no limit price (a buy at +inf, a sell at any price)


cdef class Book:
    cdef unordered_map[long long, BookOrder] orders
    cdef cpp_set[BookKey] bids     # best first: uncapped, then price descending, then seq
    cdef cpp_set[BookKey] asks     # best first: uncapped, then price ascending, then seq
    cdef readonly long long next_seq

    # -- QUERIES --
    cdef list crossing_c(self, cbool buy, cbool capped, u128 limit, long long qty,
                         long long exclude_client)
    cdef list executable_c(self, cbool with_buys, u128 buy_rank_max, cbool with_sells,
                           u128 sell_rank_max)
    # -- COMMANDS --
    cdef int add_c(self, long long handle, cbool buy, cbool capped, u128 price,
                   long long remaining, long long client, long long seq) except -1
    cdef cbool remove_c(self, long long handle)
    cdef int apply_fills_c(self, list fills) except -1
