"""The bins of a DLMM pool (the model: dlmm.pyx): storage, parameters and state, the fee
rate of a bin, and the exact swap walks. DlmmBins is the first layer of DlmmPool (a cdef
class cannot span files), not a pool of its own."""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdlib cimport free
from libc.stdint cimport int64_t, uint64_t

from engine_core.amm cimport (
    ERR_LIQUIDITY, ERR_OVERFLOW, OK, Pool, ceil_div, mul_shift64, u128,
)
from engine_core.dlmm_math cimport (
    BPS, FEE_PRECISION, MAX_BINS, MAX_FEE_RATE, U64_MAX, VAR_FEE_SCALE, check_bin_step,
    fee_from_amount_c, fee_on_amount_c, price_c,
)


cdef class DlmmBins(Pool):
    """DlmmPool's bins, fee parameters and state, and its exact swap walks."""

    def __cinit__(self):
        self.bx = NULL
        self.by = NULL
        self.bp = NULL
        self.n_bins = 0
        self.cs = NULL
        self.cb = NULL
        self.cs_len = 0
        self.cb_len = 0

    def __dealloc__(self):
        PyMem_Free(self.bx)
        PyMem_Free(self.by)
        PyMem_Free(self.bp)
        free(self.cs)
        free(self.cb)

    cdef void invalidate_c(self) noexcept nogil:
        self.cs_len = 0
        self.cb_len = 0

    def _set_params(self, bin_step, fee_bps, variable_fee_control, max_volatility_accumulator,
                    filter_period, decay_period, reduction_factor, fee_mode):
        check_bin_step(bin_step)
        if fee_mode not in ("input", "quote"):
            raise ValueError("fee_mode must be 'input' or 'quote'")
        if not 0 <= fee_bps <= 1000:
            raise ValueError("fee_bps must be in 0 .. 1000")
        if not (0 <= variable_fee_control < 2**32 and 0 <= max_volatility_accumulator < 2**32):
            raise ValueError("variable_fee_control / max_volatility_accumulator must fit 32 bits")
        if not (0 <= filter_period <= decay_period < 2**40):
            raise ValueError("need 0 <= filter_period <= decay_period")
        if not 0 <= reduction_factor <= 10000:
            raise ValueError("reduction_factor must be in 0 .. 10000")
        self.bin_step = bin_step
        self.fee_bps = fee_bps
        self.variable_fee_control = variable_fee_control
        self.max_volatility_accumulator = max_volatility_accumulator
        self.filter_period = filter_period
        self.decay_period = decay_period
        self.reduction_factor = reduction_factor
        self.fee_in = fee_mode == "input"

    cdef int alloc_c(self, int64_t lo_id, int64_t n) except -1:
        cdef int64_t i
        cdef bint ovf = False
        if not 1 <= n <= MAX_BINS:
            raise ValueError(f"a dlmm pool has 1 .. {MAX_BINS} bins")
        self.invalidate_c()
        free(self.cs)
        free(self.cb)
        self.cs = NULL
        self.cb = NULL
        PyMem_Free(self.bx)
        PyMem_Free(self.by)
        PyMem_Free(self.bp)
        self.bx = <u128*>PyMem_Malloc(n * sizeof(u128))
        self.by = <u128*>PyMem_Malloc(n * sizeof(u128))
        self.bp = <u128*>PyMem_Malloc(n * sizeof(u128))
        if self.bx == NULL or self.by == NULL or self.bp == NULL:
            raise MemoryError()
        self.lo_id = lo_id
        self.n_bins = n
        for i in range(n):
            self.bx[i] = 0
            self.by[i] = 0
            self.bp[i] = price_c(lo_id + i, self.bin_step, &ovf)
        if ovf:
            raise ValueError(f"bins {lo_id} .. {lo_id + n - 1} are out of the price range")
        return 0

    # -- QUERIES --
    cdef uint64_t fee_rate_c(self, uint64_t va) noexcept nogil:
        cdef u128 v = (<u128>va) * <uint64_t>self.bin_step
        cdef u128 var = ceil_div(v * v * self.variable_fee_control, VAR_FEE_SCALE)
        cdef u128 rate = (<u128>self.fee_bps) * (FEE_PRECISION // BPS) + var
        return <uint64_t>(rate if rate < MAX_FEE_RATE else MAX_FEE_RATE)

    cdef void refs_c(self, int64_t* ir, uint64_t* vr) noexcept nogil:
        cdef int64_t t = self.clock - self.last_update
        ir[0] = self.index_reference
        vr[0] = self.volatility_reference
        if t >= self.filter_period:
            ir[0] = self.active_id
            if t < self.decay_period:
                vr[0] = <uint64_t>((<u128>self.volatility_accumulator) * self.reduction_factor
                                   // BPS)
            else:
                vr[0] = 0

    cdef uint64_t va_at_c(self, int64_t k, int64_t ir, uint64_t vr) noexcept nogil:
        cdef u128 d = <u128>(ir - k if ir > k else k - ir)
        cdef u128 va = vr + d * BPS
        return <uint64_t>(va if va < self.max_volatility_accumulator
                          else self.max_volatility_accumulator)

    cdef int swap_sell_c(self, u128 dx, u128* out, u128* fee, bint apply) noexcept nogil:
        """Base in (exact), quote out, walking down from the active bin. The fee, by mode:
        InputOnly (fee_in) off the base in, per bin as quote.rs swap_exact_in_quote_at_bin
        with fee_on_input (reported in quote units: the base fee at the bin's price, floor);
        OnlyY off the quote out (compute_fee_from_amount of the bin's output)."""
        cdef int64_t ir, k = self.active_id, i
        cdef uint64_t vr, va = self.volatility_accumulator, rate
        cdef u128 rem = dx, y, p, dmax, used, net, gross, f, o = 0, ft = 0, fb = 0
        cdef bint ovf = False
        out[0] = 0
        fee[0] = 0
        if dx == 0:
            return OK
        self.refs_c(&ir, &vr)
        while True:
            i = k - self.lo_id
            if i < 0:
                return ERR_LIQUIDITY
            if i < self.n_bins:
                va = self.va_at_c(k, ir, vr)
                y = self.by[i]
                if y != 0:
                    p = self.bp[i]
                    dmax = ceil_div(y << 64, p)
                    rate = self.fee_rate_c(va)
                    if self.fee_in:
                        f = fee_from_amount_c(rem, rate)
                        net = rem - f
                        used = rem
                        if net > dmax:      # the bin empties and the rest goes on
                            f = fee_on_amount_c(dmax, rate)
                            net = dmax
                            used = dmax + f
                        gross = y if net == dmax else mul_shift64(net, p, False, &ovf)
                        fb += f
                        f = mul_shift64(f, p, False, &ovf)
                    else:
                        if rem >= dmax:
                            used = dmax
                            gross = y
                        else:
                            used = rem
                            gross = mul_shift64(rem, p, False, &ovf)
                            if gross > y:
                                gross = y
                        net = used
                        f = fee_from_amount_c(gross, rate)
                    if net > U64_MAX - self.bx[i]:
                        return ERR_OVERFLOW
                    o += gross - (0 if self.fee_in else f)
                    ft += f
                    rem -= used
                    if apply:
                        self.bx[i] += net
                        self.by[i] -= gross
            if rem == 0:
                break
            k -= 1
        out[0] = o
        fee[0] = ft
        if apply:
            self.invalidate_c()
            if self.fee_in:
                self.fees_b += fb
            else:
                self.fees += ft
            self.active_id = k
            self.index_reference = ir
            self.volatility_reference = vr
            self.volatility_accumulator = va
            self.last_update = self.clock
        return OK

    cdef int swap_buy_c(self, u128 dy, u128* cost, u128* fee, bint apply) noexcept nogil:
        """Base out (exact), quote in, walking up from the active bin."""
        cdef int64_t ir, k = self.active_id, i
        cdef uint64_t vr, va = self.volatility_accumulator, rate
        cdef u128 rem = dy, x, p, used, net, c, ci = 0, ft = 0
        cdef bint ovf = False
        cost[0] = 0
        fee[0] = 0
        if dy == 0:
            return OK
        self.refs_c(&ir, &vr)
        while True:
            i = k - self.lo_id
            if i >= self.n_bins:
                return ERR_LIQUIDITY
            if i >= 0:
                va = self.va_at_c(k, ir, vr)
                x = self.bx[i]
                if x != 0:
                    p = self.bp[i]
                    used = rem if rem < x else x
                    net = mul_shift64(used, p, True, &ovf)
                    if ovf or net > U64_MAX - self.by[i]:
                        return ERR_OVERFLOW
                    rate = self.fee_rate_c(va)
                    c = ceil_div(net * FEE_PRECISION, FEE_PRECISION - rate)
                    ci += c
                    ft += c - net
                    if ci > U64_MAX:
                        return ERR_OVERFLOW
                    rem -= used
                    if apply:
                        self.bx[i] -= used
                        self.by[i] += net
            if rem == 0:
                break
            k += 1
        cost[0] = ci
        fee[0] = ft
        if apply:
            self.invalidate_c()
            self.fees += ft
            self.active_id = k
            self.index_reference = ir
            self.volatility_reference = vr
            self.volatility_accumulator = va
            self.last_update = self.clock
        return OK
