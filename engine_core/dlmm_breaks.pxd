from libc.stdint cimport int64_t, uint64_t

from engine_core.amm cimport u128
from engine_core.dlmm_quotes cimport DlmmQuotes


cdef class DlmmBreaks(DlmmQuotes):
    # -- QUERIES --
    cdef u128 bin_edge_c(self, u128 s, u128 t, uint64_t rate, u128 i) noexcept nogil
    cdef int fee_breaks_c(self, u128 a, u128* out) noexcept nogil
    cdef uint64_t bin_rate_c(self, int64_t j) noexcept nogil
