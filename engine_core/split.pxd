from engine_core.amm cimport Pool, i128, u128

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
    cdef void refine_c(self, u128* alloc, double px) noexcept
    cdef bint refine_pair_c(self, Py_ssize_t i, Py_ssize_t j, u128* alloc, u128 d0) noexcept
    cdef bint scan_c(self, Py_ssize_t i, Py_ssize_t j, u128* alloc) noexcept
    cdef bint edges_c(self, Py_ssize_t i, Py_ssize_t j, u128* alloc) noexcept
    cdef bint align_c(self, Py_ssize_t i, Py_ssize_t j, u128* alloc) noexcept
