"""The queries the router asks of a DLMM pool (the model: dlmm.pyx): quotes, edge prices,
depths and capacities (its step edges: dlmm_breaks), answered from a cache of whole-bin
totals built lazily for the current state. DlmmQuotes is the second layer of DlmmPool, not
a pool of its own."""

from libc.math cimport INFINITY
from libc.stdlib cimport malloc
from libc.stdint cimport int64_t, uint64_t

from engine_core.amm cimport ERR_LIQUIDITY, ERR_OVERFLOW, OK, ceil_div, mul_shift64, u128
from engine_core.dlmm_math cimport (
    FEE_PRECISION, U64_MAX, absorbs_c, fee_from_amount_c, fee_on_amount_c, whole_in_c,
)


cdef class DlmmQuotes(DlmmBins):
    """DlmmPool's whole-bin quote cache and the router's queries."""

    cdef int ensure_sell_c(self, u128 need) noexcept nogil:
        """Extend the sell cache over whole bins until it covers `need` base units or the
        bins end. 0 when the cache can answer; -1 when the caller must walk the bins."""
        cdef int64_t k, i, j
        cdef uint64_t rate
        cdef u128 y, dmax, f, pin = 0, pout = 0, pfee = 0
        cdef bint ovf = False
        if self.cs == NULL:
            self.cs = <u128*>malloc(3 * self.n_bins * sizeof(u128) + self.n_bins * sizeof(double))
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
                rate = self.fee_rate_c(self.va_at_c(k, self.cs_ir, self.cs_vr))
                if self.fee_in:             # InputOnly: the bin's whole input, fee included
                    f = fee_on_amount_c(dmax, rate)
                    pin += dmax + f
                    pout += y
                    pfee += mul_shift64(f, self.bp[i], False, &ovf)
                else:
                    f = fee_from_amount_c(y, rate)
                    pin += dmax
                    pout += y - f
                    pfee += f
            self.cs[j] = pin
            self.cs[j + 1] = pout
            self.cs[j + 2] = pfee
            (<double*>(self.cs + 3 * self.n_bins))[self.cs_len] = self.bin_eff_c(True, k)
            self.cs_len += 1
        return -1 if self.cs_end == 2 else 0

    cdef int ensure_buy_c(self, u128 need) noexcept nogil:
        """The buy twin of ensure_sell_c: [base out, quote in, fee] over whole bins upward."""
        cdef int64_t k, i, j
        cdef u128 x, net, c, pb = 0, pc = 0, pfee = 0
        cdef bint ovf = False
        if self.cb == NULL:
            self.cb = <u128*>malloc(3 * self.n_bins * sizeof(u128) + self.n_bins * sizeof(double))
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
            (<double*>(self.cb + 3 * self.n_bins))[self.cb_len] = self.bin_eff_c(False, k)
            self.cb_len += 1
        return -1 if self.cb_end == 2 else 0

    cdef int quote_sell_c(self, u128 dx, u128* out, u128* fee) noexcept nogil:
        """As swap_sell_c(apply=False), from the cache: whole bins by binary search, then
        the one bin the trade ends in."""
        cdef int64_t lo = 0, hi, mid, k, i
        cdef uint64_t rate
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
            if self.fee_in and hi >= 0 and dx == self.cs[3 * hi] + 1:
                return self.swap_sell_c(dx, out, fee, False)  # the last bin may absorb it
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
        rate = self.fee_rate_c(self.va_at_c(k, self.cs_ir, self.cs_vr))
        if self.fee_in:
            if rem == 1 and pin != 0:
                # one unit past a whole bin: that bin may take it as fee (absorbs_c)
                return self.swap_sell_c(dx, out, fee, False)
            f = fee_from_amount_c(rem, rate)
            gross = mul_shift64(rem - f, self.bp[i], False, &ovf)
            if gross > y:
                gross = y
            out[0] = pout + gross
            fee[0] = pfee + mul_shift64(f, self.bp[i], False, &ovf)
            return OK
        gross = mul_shift64(rem, self.bp[i], False, &ovf)
        if gross > y:
            gross = y
        f = fee_from_amount_c(gross, rate)
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
        per base unit): what a sell receives there, or what a buy pays. Kept with the
        cache's rows (one double per bin after them), computed when the bin was cached."""
        if sell:
            return (<double*>(self.cs + 3 * self.n_bins))[j]
        return (<double*>(self.cb + 3 * self.n_bins))[j]

    cdef double bin_eff_c(self, bint sell, int64_t k) noexcept nogil:
        """eff_c of bin k, computed (the cache's fee references)."""
        cdef long double p = (<long double>self.bp[k - self.lo_id]) / 18446744073709551616.0
        cdef long double r
        if sell:
            r = (<long double>self.fee_rate_c(
                self.va_at_c(k, self.cs_ir, self.cs_vr))) / FEE_PRECISION
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
        cdef int64_t i, ir, lo = 0, hi
        cdef uint64_t vr, rate = 0
        cdef u128 s = 0, d, room, last = 0
        if self.ensure_sell_c(limit) == 0:
            if self.cs_len == 0:
                return 0
            s = self.cs[3 * self.cs_len - 3]
            if self.fee_in and self.cs_end == 1 and s != 0 and s < limit:
                hi = self.cs_len - 1
                while lo < hi:              # the last bin with quote: the first at total s
                    i = (lo + hi) // 2
                    if self.cs[3 * i] >= s:
                        hi = i
                    else:
                        lo = i + 1
                i = self.active_id - lo - self.lo_id
                if absorbs_c(ceil_div(self.by[i] << 64, self.bp[i]), self.fee_rate_c(
                        self.va_at_c(self.lo_id + i, self.cs_ir, self.cs_vr))):
                    s += 1
            return s if s < limit else limit
        self.refs_c(&ir, &vr)
        i = self.active_id - self.lo_id
        if i >= self.n_bins:
            i = self.n_bins - 1
        while i >= 0 and s < limit:
            if self.by[i] != 0:
                rate = self.fee_rate_c(self.va_at_c(self.lo_id + i, ir, vr))
                d = ceil_div(self.by[i] << 64, self.bp[i])
                room = U64_MAX - self.bx[i]
                if d > room:
                    # this bin cannot hold all it would take: a sell stops inside it, at
                    # most `room` net into it
                    s += whole_in_c(room + 1, rate) - 1 if self.fee_in else room
                    return s if s < limit else limit
                s += whole_in_c(d, rate) if self.fee_in else d
                last = d
            i -= 1
        if self.fee_in and last != 0 and absorbs_c(last, rate):
            s += 1
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
