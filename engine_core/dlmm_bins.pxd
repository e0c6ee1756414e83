from libc.stdint cimport int64_t, uint64_t

from engine_core.amm cimport Pool, u128


cdef class DlmmBins(Pool):
    # static parameters
    cdef readonly int bin_step                  # bps between neighbouring bins
    cdef readonly int fee_bps                   # base fee
    cdef readonly uint64_t variable_fee_control
    cdef readonly uint64_t max_volatility_accumulator
    cdef readonly int64_t filter_period
    cdef readonly int64_t decay_period
    cdef readonly int reduction_factor          # bps of the accumulator kept as reference
    cdef bint fee_in                            # sells: fee off the base in (InputOnly)
    # bins lo_id .. lo_id + n - 1
    cdef readonly int64_t lo_id
    cdef readonly int64_t n_bins
    cdef u128* bx                               # base units in each bin
    cdef u128* by                               # quote units in each bin
    cdef u128* bp                               # bin price, Q64.64
    # dynamic state
    cdef readonly int64_t active_id
    cdef readonly uint64_t volatility_accumulator
    cdef readonly uint64_t volatility_reference
    cdef readonly int64_t index_reference
    cdef readonly int64_t last_update
    cdef readonly int64_t clock
    cdef u128 fees                              # quote fees kept by the pool (LPs')
    cdef u128 fees_b                            # base fees kept (InputOnly sells)
    # quote cache: cumulative (amount, quote, fee) over whole bins from the active one,
    # built lazily for the current state (the router quotes the same pool many times)
    cdef u128* cs                               # sell: [base in, quote out, fee] * n
    cdef int64_t cs_len
    cdef int cs_end                             # 0 open, 1 no more bins, 2 overflow next
    cdef int64_t cs_ir
    cdef uint64_t cs_vr
    cdef u128* cb                               # buy: [base out, quote in, fee] * n
    cdef int64_t cb_len
    cdef int cb_end
    cdef int64_t cb_ir
    cdef uint64_t cb_vr

    # -- QUERIES --
    cdef uint64_t fee_rate_c(self, uint64_t va) noexcept nogil
    cdef void refs_c(self, int64_t* ir, uint64_t* vr) noexcept nogil
    cdef uint64_t va_at_c(self, int64_t k, int64_t ir, uint64_t vr) noexcept nogil
    cdef int swap_sell_c(self, u128 dx, u128* out, u128* fee, bint apply) noexcept nogil
    cdef int swap_buy_c(self, u128 dy, u128* cost, u128* fee, bint apply) noexcept nogil
    # -- COMMANDS --
    cdef void invalidate_c(self) noexcept nogil
    cdef int alloc_c(self, int64_t lo_id, int64_t n) except -1
