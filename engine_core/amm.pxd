from cpython.long cimport PyLong_FromUnsignedLongLong
from libc.stdint cimport uint64_t

from engine_core.int128 cimport ceil_div, div_c, i128, mul_shift64, u128

# Result codes of the nogil pool methods (no exception on the hot path).
cdef enum:
    OK = 0
    ERR_LIQUIDITY = 1   # the pool cannot fill the amount
    ERR_OVERFLOW = 2    # the result would not fit the pool's 64-bit reserves

cdef inline object py_u128(u128 v):
    if (v >> 64) == 0:
        return PyLong_FromUnsignedLongLong(<uint64_t>v)
    return (PyLong_FromUnsignedLongLong(<uint64_t>(v >> 64)) << 64) | PyLong_FromUnsignedLongLong(
        <uint64_t>v)

cdef uint64_t amount_arg(object v) except? 0xFFFFFFFFFFFFFFFF
cdef int raise_code(int code) except -1


cdef class Pool:
    # -- QUERIES (nogil, no mutation) --
    cdef int quote_sell_c(self, u128 dx, u128* out, u128* fee) noexcept nogil
    cdef int quote_buy_c(self, u128 dy, u128* cost, u128* fee) noexcept nogil
    cdef int quote_buy_in_c(self, u128 q, u128* dy, u128* fee) noexcept nogil
    cdef u128 spot_x64_c(self) noexcept nogil
    cdef u128 sell_capacity_c(self, u128 limit) noexcept nogil
    cdef u128 buy_capacity_c(self, u128 limit) noexcept nogil
    cdef u128 _fitting_c(self, bint sell, u128 cap) noexcept nogil
    cdef double edge_c(self, bint sell) noexcept nogil
    cdef u128 depth_c(self, bint sell, double px, u128 limit) noexcept nogil
    cdef int breaks_c(self, bint sell, u128 a, u128* out) noexcept nogil
    # -- COMMANDS --
    cdef int sell_c(self, u128 dx, u128* out, u128* fee) noexcept nogil
    cdef int buy_c(self, u128 dy, u128* cost, u128* fee) noexcept nogil
    cdef Pool copy_c(self)
    cdef int assign_c(self, Pool other) except -1


cdef class CpmmPool(Pool):
    cdef u128 x   # base reserve
    cdef u128 y   # quote reserve
    cdef uint64_t fee
    cdef bint fee_on_output  # sells: the fee off the quote out, not the base in
