"""128-bit integers and their exact division, shared by every module of the core (no
module of its own: declarations and inline functions only)."""

from libc.stdint cimport uint64_t


cdef extern from *:
    ctypedef unsigned long long u128 "unsigned __int128"
    ctypedef long long i128 "__int128"


# -- HELPERS (128-bit arithmetic) --
cdef inline u128 div_c(u128 a, u128 b) noexcept nogil:
    """a // b, with the hardware 64-bit divide when both fit."""
    if ((a | b) >> 64) == 0:
        return <uint64_t>a // <uint64_t>b
    return a // b

cdef inline u128 ceil_div(u128 a, u128 b) noexcept nogil:
    cdef u128 q = div_c(a, b)
    return q + (1 if q * b != a else 0)

cdef inline u128 mul_shift64(u128 a, u128 p, bint round_up, bint* overflow) noexcept nogil:
    """(a * p) >> 64 for a < 2**64 and any p, without a 256-bit intermediate."""
    cdef u128 lo = a * <uint64_t>p
    cdef u128 hi = a * <uint64_t>(p >> 64)
    cdef u128 r = hi + (lo >> 64)
    if r < hi:
        overflow[0] = True
    if round_up and <uint64_t>lo != 0:
        r += 1
    return r
