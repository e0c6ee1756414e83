from libc.stdint cimport int64_t, uint64_t

from engine_core.amm cimport u128

cdef u128 U64_MAX
cdef uint64_t FEE_PRECISION
cdef uint64_t MAX_FEE_RATE
cdef uint64_t BPS
cdef u128 VAR_FEE_SCALE
cdef int64_t MAX_BINS
cdef int64_t BREAK_BINS

cdef u128 price_c(int64_t bin_id, int bin_step, bint* overflow) noexcept nogil
