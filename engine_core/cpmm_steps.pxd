from libc.stdint cimport uint64_t

from engine_core.int128 cimport u128


cdef int input_fee_steps_c(u128 x, uint64_t fee, u128 a, u128* out) noexcept nogil
cdef int rounding_steps_c(u128 x, u128 y, uint64_t fee, bint fee_on_output, bint sell,
                          u128 v, u128* out) noexcept nogil
