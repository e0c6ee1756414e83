"""Liquidity-bin pool (Meteora DLMM-like).

Bin k holds base and quote at the fixed price P_k = (1 + bin_step/10000)^k (quote units per
base unit, Q64.64). Inside a bin the sum P*x + y is constant; a swap takes what the active
bin has, then moves to the next bin (down for a sell, up for a buy). Bins above the active
one hold base only, bins below quote only.

Fee per bin, in quote units (rate in 1e9 precision, capped at 10%):
    rate = fee_bps * 1e5 + ceil((va * bin_step)^2 * variable_fee_control / 1e11)
    va   = min(volatility_reference + |index_reference - k| * 10000, max_volatility_accumulator)
At the start of each swap, with t = clock - last_update: if t >= filter_period the index
reference moves to the active bin and the volatility reference becomes va * reduction_factor /
10000 (t < decay_period) or 0 (t >= decay_period). So the fee grows with the bins crossed
recently and decays afterwards. `clock` only moves with set_clock(); with filter_period = 0
every swap refreshes the references (decay per swap, no clock needed).
The fees stay in the pool (kept apart from the bins' tradable liquidity, as LP fees).
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport INFINITY, floor, log
from libc.stdlib cimport free, malloc
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

from engine_core.amm cimport (
    ERR_LIQUIDITY, ERR_OVERFLOW, OK, Pool, ceil_div, mul_shift64, py_u128, u128,
)

cdef u128 Q64 = (<u128>1) << 64
cdef u128 U64_MAX = 0xFFFFFFFFFFFFFFFF
cdef u128 U128_MAX = ~(<u128>0)
cdef uint64_t FEE_PRECISION = 1000000000
cdef uint64_t MAX_FEE_RATE = 100000000          # 10%
cdef uint64_t BPS = 10000
cdef u128 VAR_FEE_SCALE = 100000000000          # 1e11
cdef int64_t MAX_BINS = 1 << 16
# Bin prices must keep 24 bits of precision (so neighbouring bins differ) and leave room
# for amounts: 2**-40 <= price <= 2**56 quote units per base unit.
cdef u128 MIN_PRICE = (<u128>1) << 24
cdef u128 MAX_PRICE = (<u128>1) << 120

PARAMS = (
    "bin_step", "active_id", "bins_each_side", "base_per_bin", "quote_per_bin", "fee_bps",
    "variable_fee_control", "max_volatility_accumulator", "filter_period", "decay_period",
    "reduction_factor",
)


# -- bin prices --
cdef inline u128 mulq_c(u128 a, u128 b, bint* overflow) noexcept nogil:
    """(a * b) >> 64 for Q64.64 a, b; flags overflow past 128 bits."""
    cdef u128 ah = a >> 64, al = <uint64_t>a, bh = b >> 64, bl = <uint64_t>b
    cdef u128 hh = ah * bh
    cdef u128 r
    if (hh >> 64) != 0:
        overflow[0] = True
        return 0
    r = (hh << 64) + ah * bl
    if r < ah * bl:
        overflow[0] = True
    r += al * bh
    if r < al * bh:
        overflow[0] = True
    r += (al * bl) >> 64
    return r


cdef u128 price_c(int64_t bin_id, int bin_step, bint* overflow) noexcept nogil:
    """(1 + bin_step/10000)^bin_id in Q64.64 (exponentiation by squaring, then inverted for
    a negative id); deterministic integer arithmetic. Flags prices out of the usable range."""
    cdef u128 base = Q64 + (((<u128>bin_step) << 64) // BPS)
    cdef u128 r = Q64
    cdef uint64_t n = <uint64_t>(-bin_id if bin_id < 0 else bin_id)
    while n:
        if n & 1:
            r = mulq_c(r, base, overflow)
        n >>= 1
        if n:
            base = mulq_c(base, base, overflow)
    if r == 0:
        overflow[0] = True
        return 0
    if bin_id < 0:
        r = U128_MAX // r
    if r < MIN_PRICE or r > MAX_PRICE:
        overflow[0] = True
    return r


def bin_price_x64(bin_id, bin_step):
    """The price of bin `bin_id`, quote units per base unit, Q64.64."""
    cdef bint ovf = False
    _check_bin_step(bin_step)
    cdef u128 p = price_c(bin_id, bin_step, &ovf)
    if ovf:
        raise ValueError(f"bin {bin_id} is out of range for bin_step {bin_step}")
    return py_u128(p)


def bin_id_for_price_x64(price_x64, bin_step):
    """The bin k with P_k <= price < P_(k+1) (a float guess, settled by exact comparisons)."""
    _check_bin_step(bin_step)
    if price_x64 <= 0:
        raise ValueError("price must be > 0")
    guess = int(floor(log(price_x64 / 2.0**64) / log(1.0 + bin_step / 10000.0)))
    while bin_price_x64(guess, bin_step) > price_x64:
        guess -= 1
    while bin_price_x64(guess + 1, bin_step) <= price_x64:
        guess += 1
    return guess


def _check_bin_step(bin_step):
    if not 1 <= bin_step <= 500:
        raise ValueError("bin_step must be in 1 .. 500 bps")


cdef class DlmmPool(Pool):
    """Bins of liquidity at fixed prices, a base fee and a volatility fee (see module doc)."""

    kind = "dlmm"

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

    def __init__(self, bin_step, active_id, bins_each_side, base_per_bin, quote_per_bin,
                 fee_bps=20, variable_fee_control=40000, max_volatility_accumulator=350000,
                 filter_period=0, decay_period=600, reduction_factor=5000):
        if not 0 <= bins_each_side < MAX_BINS // 2:
            raise ValueError("bins_each_side must be in 0 .. 32767")
        if not (0 <= base_per_bin <= U64_MAX and 0 <= quote_per_bin <= U64_MAX):
            raise ValueError("base_per_bin / quote_per_bin must be in 0 .. 2**64-1")
        self._set_params(bin_step, fee_bps, variable_fee_control, max_volatility_accumulator,
                         filter_period, decay_period, reduction_factor)
        self.alloc_c(active_id - bins_each_side, 2 * bins_each_side + 1)
        cdef int64_t i, k
        for i in range(self.n_bins):
            k = self.lo_id + i
            self.bx[i] = base_per_bin if k > active_id else 0
            self.by[i] = quote_per_bin if k < active_id else 0
            if k == active_id:
                self.bx[i] = base_per_bin // 2
                self.by[i] = quote_per_bin // 2
        self.active_id = active_id
        self.index_reference = active_id
        self.volatility_accumulator = 0
        self.volatility_reference = 0
        self.last_update = 0
        self.clock = 0
        self.fees = 0

    def _set_params(self, bin_step, fee_bps, variable_fee_control, max_volatility_accumulator,
                    filter_period, decay_period, reduction_factor):
        _check_bin_step(bin_step)
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

    @staticmethod
    def from_params(dict params):
        """From markets.toml params (integer base units); unknown keys are refused."""
        unknown = set(params) - set(PARAMS)
        if unknown:
            raise ValueError(f"unknown dlmm params: {sorted(unknown)}")
        for key in PARAMS[:5]:
            if key not in params:
                raise ValueError(f"dlmm needs {key}")
        return DlmmPool(**params)

    # -- Python-visible state --
    @property
    def base_reserve(self):
        """Base units in all bins."""
        cdef u128 s = 0
        cdef int64_t i
        for i in range(self.n_bins):
            s += self.bx[i]
        return py_u128(s)

    @property
    def quote_reserve(self):
        """Quote units held: the bins' quote plus the fees kept."""
        cdef u128 s = self.fees
        cdef int64_t i
        for i in range(self.n_bins):
            s += self.by[i]
        return py_u128(s)

    @property
    def fees_quote(self):
        return py_u128(self.fees)

    def bins(self):
        """[(bin_id, base, quote, price_x64)] for every bin."""
        return [(self.lo_id + i, py_u128(self.bx[i]), py_u128(self.by[i]), py_u128(self.bp[i]))
                for i in range(self.n_bins)]

    def fee_rate(self, bin_id=None):
        """The fee rate (1e9 precision) a swap starting now would pay in `bin_id`."""
        cdef int64_t ir
        cdef uint64_t vr
        self.refs_c(&ir, &vr)
        k = self.active_id if bin_id is None else bin_id
        return self.fee_rate_c(self.va_at_c(k, ir, vr))

    def set_clock(self, now):
        """Move the pool's clock (seconds) forward; it never goes back."""
        if now > self.clock:
            self.clock = now
            self.invalidate_c()

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
        """Base in (exact), quote out, walking down from the active bin."""
        cdef int64_t ir, k = self.active_id, i
        cdef uint64_t vr, va = self.volatility_accumulator
        cdef u128 rem = dx, y, p, dmax, used, gross, f, o = 0, ft = 0
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
                    if rem >= dmax:
                        used = dmax
                        gross = y
                    else:
                        used = rem
                        gross = mul_shift64(rem, p, False, &ovf)
                        if gross > y:
                            gross = y
                    if used > U64_MAX - self.bx[i]:
                        return ERR_OVERFLOW
                    f = ceil_div(gross * self.fee_rate_c(va), FEE_PRECISION)
                    o += gross - f
                    ft += f
                    rem -= used
                    if apply:
                        self.bx[i] += used
                        self.by[i] -= gross
            if rem == 0:
                break
            k -= 1
        out[0] = o
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

    cdef int ensure_sell_c(self, u128 need) noexcept nogil:
        """Extend the sell cache over whole bins until it covers `need` base units or the
        bins end. 0 when the cache can answer; -1 when the caller must walk the bins."""
        cdef int64_t k, i, j
        cdef u128 y, dmax, f, pin = 0, pout = 0, pfee = 0
        if self.cs == NULL:
            self.cs = <u128*>malloc(3 * self.n_bins * sizeof(u128))
            if self.cs == NULL:
                return -1
            self.cs_len = 0
        if self.cs_len == 0:
            self.refs_c(&self.cs_ir, &self.cs_vr)
            self.cs_end = 0
        while self.cs_end == 0 and (self.cs_len == 0 or self.cs[3 * self.cs_len - 3] < need):
            k = self.active_id - self.cs_len
            i = k - self.lo_id
            if i < 0 or i >= self.n_bins:
                self.cs_end = 1
                break
            j = 3 * self.cs_len
            if self.cs_len:
                pin = self.cs[j - 3]
                pout = self.cs[j - 2]
                pfee = self.cs[j - 1]
            y = self.by[i]
            if y != 0:
                dmax = ceil_div(y << 64, self.bp[i])
                if dmax > U64_MAX - self.bx[i]:
                    self.cs_end = 2
                    break
                f = ceil_div(y * self.fee_rate_c(self.va_at_c(k, self.cs_ir, self.cs_vr)),
                             FEE_PRECISION)
                pin += dmax
                pout += y - f
                pfee += f
            self.cs[j] = pin
            self.cs[j + 1] = pout
            self.cs[j + 2] = pfee
            self.cs_len += 1
        return -1 if self.cs_end == 2 else 0

    cdef int ensure_buy_c(self, u128 need) noexcept nogil:
        """The buy twin of ensure_sell_c: [base out, quote in, fee] over whole bins upward."""
        cdef int64_t k, i, j
        cdef u128 x, net, c, pb = 0, pc = 0, pfee = 0
        cdef bint ovf = False
        if self.cb == NULL:
            self.cb = <u128*>malloc(3 * self.n_bins * sizeof(u128))
            if self.cb == NULL:
                return -1
            self.cb_len = 0
        if self.cb_len == 0:
            self.refs_c(&self.cb_ir, &self.cb_vr)
            self.cb_end = 0
        while self.cb_end == 0 and (self.cb_len == 0 or self.cb[3 * self.cb_len - 3] < need):
            k = self.active_id + self.cb_len
            i = k - self.lo_id
            if i < 0 or i >= self.n_bins:
                self.cb_end = 1
                break
            j = 3 * self.cb_len
            if self.cb_len:
                pb = self.cb[j - 3]
                pc = self.cb[j - 2]
                pfee = self.cb[j - 1]
            x = self.bx[i]
            if x != 0:
                net = mul_shift64(x, self.bp[i], True, &ovf)
                if ovf or net > U64_MAX - self.by[i]:
                    self.cb_end = 2
                    break
                c = ceil_div(net * FEE_PRECISION, FEE_PRECISION - self.fee_rate_c(
                    self.va_at_c(k, self.cb_ir, self.cb_vr)))
                if pc + c > U64_MAX:
                    self.cb_end = 2
                    break
                pb += x
                pc += c
                pfee += c - net
            self.cb[j] = pb
            self.cb[j + 1] = pc
            self.cb[j + 2] = pfee
            self.cb_len += 1
        return -1 if self.cb_end == 2 else 0

    cdef int quote_sell_c(self, u128 dx, u128* out, u128* fee) noexcept nogil:
        """As swap_sell_c(apply=False), from the cache: whole bins by binary search, then
        the one bin the trade ends in."""
        cdef int64_t lo = 0, hi, mid, k, i
        cdef u128 pin = 0, pout = 0, pfee = 0, rem, gross, f, y
        cdef bint ovf = False
        if dx == 0:
            out[0] = 0
            fee[0] = 0
            return OK
        if self.ensure_sell_c(dx) != 0:
            return self.swap_sell_c(dx, out, fee, False)
        hi = self.cs_len - 1
        if hi < 0 or self.cs[3 * hi] < dx:
            return ERR_LIQUIDITY
        while lo < hi:                      # the first whole-bin total reaching dx
            mid = (lo + hi) // 2
            if self.cs[3 * mid] >= dx:
                hi = mid
            else:
                lo = mid + 1
        if lo:
            pin = self.cs[3 * lo - 3]
            pout = self.cs[3 * lo - 2]
            pfee = self.cs[3 * lo - 1]
        if self.cs[3 * lo] == dx:
            out[0] = self.cs[3 * lo + 1]
            fee[0] = self.cs[3 * lo + 2]
            return OK
        rem = dx - pin
        k = self.active_id - lo
        i = k - self.lo_id
        y = self.by[i]
        gross = mul_shift64(rem, self.bp[i], False, &ovf)
        if gross > y:
            gross = y
        f = ceil_div(gross * self.fee_rate_c(self.va_at_c(k, self.cs_ir, self.cs_vr)),
                     FEE_PRECISION)
        out[0] = pout + gross - f
        fee[0] = pfee + f
        return OK

    cdef int quote_buy_c(self, u128 dy, u128* cost, u128* fee) noexcept nogil:
        """As swap_buy_c(apply=False), from the cache."""
        cdef int64_t lo = 0, hi, mid, k, i
        cdef u128 pb = 0, pc = 0, pfee = 0, rem, net, c
        cdef bint ovf = False
        if dy == 0:
            cost[0] = 0
            fee[0] = 0
            return OK
        if self.ensure_buy_c(dy) != 0:
            return self.swap_buy_c(dy, cost, fee, False)
        hi = self.cb_len - 1
        if hi < 0 or self.cb[3 * hi] < dy:
            return ERR_LIQUIDITY
        while lo < hi:
            mid = (lo + hi) // 2
            if self.cb[3 * mid] >= dy:
                hi = mid
            else:
                lo = mid + 1
        if lo:
            pb = self.cb[3 * lo - 3]
            pc = self.cb[3 * lo - 2]
            pfee = self.cb[3 * lo - 1]
        if self.cb[3 * lo] == dy:
            cost[0] = self.cb[3 * lo + 1]
            fee[0] = self.cb[3 * lo + 2]
            return OK
        rem = dy - pb
        k = self.active_id + lo
        i = k - self.lo_id
        net = mul_shift64(rem, self.bp[i], True, &ovf)
        c = ceil_div(net * FEE_PRECISION, FEE_PRECISION - self.fee_rate_c(
            self.va_at_c(k, self.cb_ir, self.cb_vr)))
        cost[0] = pc + c
        fee[0] = pfee + c - net
        return OK

    cdef int quote_buy_in_c(self, u128 q, u128* dy, u128* fee) noexcept nogil:
        """Quote in (exact), base out: whole bins while the budget lasts, then part of one."""
        cdef int64_t ir, k = self.active_id, i
        cdef uint64_t vr, rate
        cdef u128 rem = q, x, p, net, c, got = 0, ft = 0, used
        cdef bint ovf = False
        dy[0] = 0
        fee[0] = 0
        if q == 0:
            return OK
        self.refs_c(&ir, &vr)
        while True:
            i = k - self.lo_id
            if i >= self.n_bins:
                return ERR_LIQUIDITY
            if i >= 0:
                x = self.bx[i]
                if x != 0:
                    p = self.bp[i]
                    rate = self.fee_rate_c(self.va_at_c(k, ir, vr))
                    net = mul_shift64(x, p, True, &ovf)
                    if ovf or net > U64_MAX:
                        return ERR_OVERFLOW
                    c = ceil_div(net * FEE_PRECISION, FEE_PRECISION - rate)
                    if rem >= c:
                        got += x
                        ft += c - net
                        rem -= c
                    else:
                        net = rem * (FEE_PRECISION - rate) // FEE_PRECISION
                        ft += rem - net
                        used = (net << 64) // p
                        got += used if used < x else x
                        rem = 0
            if rem == 0:
                break
            k += 1
        dy[0] = got
        fee[0] = ft
        return OK

    cdef u128 spot_x64_c(self) noexcept nogil:
        cdef int64_t i = self.active_id - self.lo_id
        if i < 0:
            i = 0
        if i >= self.n_bins:
            i = self.n_bins - 1
        return self.bp[i]

    cdef double eff_c(self, bint sell, int64_t j) noexcept nogil:
        """The price, fee included, of the j-th cached bin from the active one (quote units
        per base unit): what a sell receives there, or what a buy pays."""
        cdef int64_t k = self.active_id - j if sell else self.active_id + j
        cdef long double p = (<long double>self.bp[k - self.lo_id]) / 18446744073709551616.0
        cdef long double r
        if sell:
            r = (<long double>self.fee_rate_c(self.va_at_c(k, self.cs_ir, self.cs_vr))) / FEE_PRECISION
            return <double>(p * (1 - r))
        r = (<long double>self.fee_rate_c(self.va_at_c(k, self.cb_ir, self.cb_vr))) / FEE_PRECISION
        return <double>(p / (1 - r))

    cdef double edge_c(self, bint sell) noexcept nogil:
        cdef int64_t j = 0
        cdef u128* c
        cdef int64_t n
        if sell:
            self.ensure_sell_c(1)
            c = self.cs
            n = self.cs_len
        else:
            self.ensure_buy_c(1)
            c = self.cb
            n = self.cb_len
        while j < n and c[3 * j] == 0:
            j += 1
        if j >= n:
            return 0.0 if sell else INFINITY
        return self.eff_c(sell, j)

    cdef int breaks_c(self, bint sell, u128 a, u128* out) noexcept nogil:
        """The edges of the bins around the one where a trade of `a` ends: the whole-bin
        totals before and at it, and one unit less (a bin not completed)."""
        cdef int64_t lo = 0, hi, mid
        cdef u128* c
        cdef int n = 0
        if sell:
            self.ensure_sell_c(a)
            c = self.cs
            hi = self.cs_len
        else:
            self.ensure_buy_c(a)
            c = self.cb
            hi = self.cb_len
        if c == NULL or hi == 0:
            return 0
        while lo < hi:                      # the first whole-bin total reaching a
            mid = (lo + hi) // 2
            if c[3 * mid] >= a:
                hi = mid
            else:
                lo = mid + 1
        if lo > 0 and c[3 * lo - 3] > 0:
            out[n] = c[3 * lo - 3]
            out[n + 1] = c[3 * lo - 3] - 1
            n += 2
        if lo < (self.cs_len if sell else self.cb_len) and c[3 * lo] > 0:
            out[n] = c[3 * lo]
            out[n + 1] = c[3 * lo] - 1
            n += 2
        return n

    cdef u128 depth_c(self, bint sell, double px, u128 limit) noexcept nogil:
        """Whole bins from the active one whose price with the fee is at least as good as
        px (a bin trades at one price), from the quote cache; at most `limit`."""
        cdef int64_t lo = 0, hi, mid
        cdef u128* c
        cdef u128 d
        if sell:
            self.ensure_sell_c(limit)
            c = self.cs
            hi = self.cs_len
        else:
            self.ensure_buy_c(limit)
            c = self.cb
            hi = self.cb_len
        if c == NULL:
            return 0
        # the first bin (lo) whose price is worse than px; bins 0 .. lo-1 are taken whole
        while lo < hi:
            mid = (lo + hi) // 2
            if (self.eff_c(sell, mid) >= px) if sell else (self.eff_c(sell, mid) <= px):
                lo = mid + 1
            else:
                hi = mid
        if lo == 0:
            return 0
        d = c[3 * lo - 3]
        return d if d < limit else limit

    cdef u128 sell_capacity_c(self, u128 limit) noexcept nogil:
        cdef int64_t i
        cdef u128 s = 0, d
        if self.ensure_sell_c(limit) == 0:
            s = self.cs[3 * self.cs_len - 3] if self.cs_len else 0
            return s if s < limit else limit
        i = self.active_id - self.lo_id
        while i >= 0 and s < limit:
            if self.by[i] != 0:
                d = ceil_div(self.by[i] << 64, self.bp[i])
                if d > U64_MAX - self.bx[i]:
                    # this bin cannot hold all it would take: a sell stops inside it
                    s += U64_MAX - self.bx[i]
                    break
                s += d
            i -= 1
        return s if s < limit else limit

    cdef u128 buy_capacity_c(self, u128 limit) noexcept nogil:
        cdef int64_t i
        cdef u128 s = 0
        if self.ensure_buy_c(limit) == 0:
            s = self.cb[3 * self.cb_len - 3] if self.cb_len else 0
            return s if s < limit else limit
        i = self.active_id - self.lo_id
        while i < self.n_bins and s < limit:
            s += self.bx[i]
            i += 1
        return s if s < limit else limit

    # -- COMMANDS --
    cdef int sell_c(self, u128 dx, u128* out, u128* fee) noexcept nogil:
        cdef int rc = self.swap_sell_c(dx, out, fee, False)
        if rc == OK and dx != 0:
            self.swap_sell_c(dx, out, fee, True)
        return rc

    cdef int buy_c(self, u128 dy, u128* cost, u128* fee) noexcept nogil:
        cdef int rc = self.swap_buy_c(dy, cost, fee, False)
        if rc == OK and dy != 0:
            self.swap_buy_c(dy, cost, fee, True)
        return rc

    cdef Pool copy_c(self):
        cdef DlmmPool p = DlmmPool.__new__(DlmmPool)
        p.assign_c(self)
        return p

    cdef int assign_c(self, Pool other) except -1:
        cdef DlmmPool o = <DlmmPool?>other
        cdef size_t size = o.n_bins * sizeof(u128)
        if self is o:
            return 0
        self.invalidate_c()
        if self.n_bins != o.n_bins or self.bx == NULL:
            free(self.cs)
            free(self.cb)
            self.cs = NULL
            self.cb = NULL
            PyMem_Free(self.bx)
            PyMem_Free(self.by)
            PyMem_Free(self.bp)
            self.bx = <u128*>PyMem_Malloc(size)
            self.by = <u128*>PyMem_Malloc(size)
            self.bp = <u128*>PyMem_Malloc(size)
            if self.bx == NULL or self.by == NULL or self.bp == NULL:
                raise MemoryError()
        memcpy(self.bx, o.bx, size)
        memcpy(self.by, o.by, size)
        memcpy(self.bp, o.bp, size)
        self.n_bins = o.n_bins
        self.lo_id = o.lo_id
        self.bin_step = o.bin_step
        self.fee_bps = o.fee_bps
        self.variable_fee_control = o.variable_fee_control
        self.max_volatility_accumulator = o.max_volatility_accumulator
        self.filter_period = o.filter_period
        self.decay_period = o.decay_period
        self.reduction_factor = o.reduction_factor
        self.active_id = o.active_id
        self.volatility_accumulator = o.volatility_accumulator
        self.volatility_reference = o.volatility_reference
        self.index_reference = o.index_reference
        self.last_update = o.last_update
        self.clock = o.clock
        self.fees = o.fees
        return 0

    # -- swap_to_price support --
    def amount_to_bin(self, target_id):
        """(side, base_amount) of the swap that makes `target_id` the active bin (clamped to
        the pool's bins); ("sell", 0) when it is active already."""
        cdef int64_t t = target_id, k, i
        cdef u128 s = 0
        cdef int64_t hi = self.lo_id + self.n_bins - 1
        if t < self.lo_id:
            t = self.lo_id
        if t > hi:
            t = hi
        if t < self.active_id:
            # exhaust the quote of bins active .. t+1, then one unit into bin t
            k = self.active_id
            while k > t:
                i = k - self.lo_id
                if 0 <= i < self.n_bins and self.by[i] != 0:
                    s += ceil_div(self.by[i] << 64, self.bp[i])
                k -= 1
            if self.by[t - self.lo_id] != 0:
                s += 1
            return ("sell", py_u128(s))
        if t > self.active_id:
            k = self.active_id
            while k < t:
                i = k - self.lo_id
                if 0 <= i < self.n_bins:
                    s += self.bx[i]
                k += 1
            if self.bx[t - self.lo_id] != 0:
                s += 1
            return ("buy", py_u128(s))
        return ("sell", 0)

    # -- STATE --
    def to_state(self):
        """JSON-able; bins as runs [count, base, quote] (amounts as decimal strings)."""
        runs = []
        last = None
        cdef int64_t i
        for i in range(self.n_bins):
            x = str(py_u128(self.bx[i]))
            y = str(py_u128(self.by[i]))
            if last is not None and last[1] == x and last[2] == y:
                last[0] += 1
            else:
                last = [1, x, y]
                runs.append(last)
        return {
            "kind": "dlmm",
            "bin_step": self.bin_step,
            "fee_bps": self.fee_bps,
            "variable_fee_control": self.variable_fee_control,
            "max_volatility_accumulator": self.max_volatility_accumulator,
            "filter_period": self.filter_period,
            "decay_period": self.decay_period,
            "reduction_factor": self.reduction_factor,
            "lo_id": self.lo_id,
            "bins": runs,
            "active_id": self.active_id,
            "volatility_accumulator": self.volatility_accumulator,
            "volatility_reference": self.volatility_reference,
            "index_reference": self.index_reference,
            "last_update": self.last_update,
            "clock": self.clock,
            "fees_quote": str(py_u128(self.fees)),
        }

    @staticmethod
    def from_state(dict d):
        if d.get("kind") != "dlmm":
            raise ValueError(f"not a dlmm state: kind={d.get('kind')!r}")
        cdef DlmmPool p = DlmmPool.__new__(DlmmPool)
        p._set_params(int(d["bin_step"]), int(d["fee_bps"]), int(d["variable_fee_control"]),
                      int(d["max_volatility_accumulator"]), int(d["filter_period"]),
                      int(d["decay_period"]), int(d["reduction_factor"]))
        runs = d["bins"]
        n = sum(int(r[0]) for r in runs)
        p.alloc_c(int(d["lo_id"]), n)
        cdef int64_t i = 0
        for count, x, y in runs:
            xv, yv = int(x), int(y)
            if not (0 <= xv <= U64_MAX and 0 <= yv <= U64_MAX):
                raise ValueError("bin amounts must be in 0 .. 2**64-1")
            for _ in range(int(count)):
                p.bx[i] = xv
                p.by[i] = yv
                i += 1
        p.active_id = int(d["active_id"])
        p.volatility_accumulator = int(d["volatility_accumulator"])
        p.volatility_reference = int(d["volatility_reference"])
        p.index_reference = int(d["index_reference"])
        p.last_update = int(d["last_update"])
        p.clock = int(d["clock"])
        p.fees = int(d["fees_quote"])
        return p

    def __repr__(self):
        return (f"DlmmPool(bin_step={self.bin_step}, active_id={self.active_id}, "
                f"bins={self.lo_id}..{self.lo_id + self.n_bins - 1}, fee_bps={self.fee_bps}, "
                f"volatility_accumulator={self.volatility_accumulator})")
