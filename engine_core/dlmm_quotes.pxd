from libc.stdint cimport int64_t

from engine_core.amm cimport u128
from engine_core.dlmm_bins cimport DlmmBins


cdef class DlmmQuotes(DlmmBins):
    # -- QUERIES --
    cdef int ensure_sell_c(self, u128 need) noexcept nogil
    cdef int ensure_buy_c(self, u128 need) noexcept nogil
    cdef double eff_c(self, bint sell, int64_t j) noexcept nogil
    cdef double bin_eff_c(self, bint sell, int64_t k) noexcept nogil
