from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from engine_core.amm cimport Pool, i128, u128

cdef extern from *:
    """
    static const __int128 SPLIT_WORST = -(((__int128)1) << 120);
    """
    const i128 WORST "SPLIT_WORST"   # the value of an amount a venue cannot take


cdef inline double px_of(uint64_t t) noexcept nogil:
    cdef double d
    memcpy(&d, &t, 8)
    return d


cdef inline uint64_t bits_of(double d) noexcept nogil:
    cdef uint64_t t
    memcpy(&t, &d, 8)
    return t

cdef enum:
    MAX_VENUES = 17          # 16 pools and the internal book


cdef class Venues:
    """The pools of one market (and optionally the crossing makers of the book, as one more
    venue with a stepwise price) seen from one side: exact integer values, marginal depths,
    and the optimal allocation of an amount across them."""
    cdef readonly bint sell
    cdef list pools                 # Pool, in venue-name order
    cdef Py_ssize_t np              # pools
    cdef Py_ssize_t nv              # venues: pools, then the book when it has levels
    cdef u128 caps[MAX_VENUES]
    # the book: levels best first, cumulative qty and value after each, price per base unit
    cdef Py_ssize_t nb
    cdef u128* bq
    cdef i128* bv
    cdef u128* bprice
    cdef double* bpx
    cdef u128 scale

    # -- QUERIES --
    cdef i128 value_c(self, Py_ssize_t i, u128 a) noexcept
    cdef u128 depth_c(self, Py_ssize_t i, double px, u128 limit) noexcept
    cdef double edge_c(self, Py_ssize_t i) noexcept
    cdef u128 total_cap_c(self) noexcept
    cdef i128 total_c(self, u128* alloc) noexcept
    cdef double at_amount_c(self, u128 n, u128* alloc) noexcept
    cdef int allocate_c(self, u128 n, u128* alloc) noexcept
    cdef u128 tighten_c(self, u128* alloc) noexcept
