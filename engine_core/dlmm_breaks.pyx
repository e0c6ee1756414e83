"""The step edges a DLMM pool gives the router's searches (the model: dlmm.pyx), breaks_c:
amounts near a given one where the pool's integer value is not concave, which the pairwise
moves cannot see across (split_refine.edges_c walks them, limits sizes to them). The
bins' edges (a bin completed costs its rounded-up input; the next bin's first unit may be
all fee) and, for an InputOnly sell, the input fee's steps inside each bin. DlmmBreaks is
the third layer of DlmmPool, not a pool of its own."""

from libc.stdint cimport int64_t, uint64_t

from engine_core.amm cimport u128
from engine_core.dlmm_math cimport BREAK_BINS, FEE_PRECISION, fee_from_amount_c


cdef inline u128 fee_steps_c(u128 s, u128 t, uint64_t rate) noexcept nogil:
    """How many of an InputOnly bin's fee steps (DlmmBreaks.bin_edge_c) lie below t - 1:
    q >= 1 with floor(q * 1e9 / rate) < t - 1 - s, so q < ceil((t - 1 - s) * rate / 1e9)."""
    if rate == 0 or t - 1 <= s:
        return 0
    return fee_from_amount_c(t - 1 - s, rate) - 1


cdef class DlmmBreaks(DlmmQuotes):
    """DlmmPool's step edges for the searches."""

    cdef int breaks_c(self, bint sell, u128 a, u128* out) noexcept nogil:
        """The edges of the bins up to the one where a trade of `a` ends: whole-bin totals,
        and one unit less (that bin not completed). An InputOnly sell: its fee steps too
        (fee_breaks_c)."""
        cdef int64_t lo = 0, hi, mid
        cdef u128* c
        cdef int n = 0
        if sell and self.fee_in:
            return self.fee_breaks_c(a, out)
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
        # the bins' edges from BREAK_BINS - 1 bins back up to the bin where a ends
        mid = lo - (BREAK_BINS - 1) if lo >= BREAK_BINS - 1 else 0
        while mid <= lo and mid < (self.cs_len if sell else self.cb_len):
            if c[3 * mid] > 0:
                out[n] = c[3 * mid]
                out[n + 1] = c[3 * mid] - 1
                n += 2
            mid += 1
        return n

    cdef u128 bin_edge_c(self, u128 s, u128 t, uint64_t rate, u128 i) noexcept nogil:
        """The i-th (from 1) amount, in increasing order, where an InputOnly sell's output
        stops moving for one more unit, of a bin the sell enters at s base units and
        completes at t (0 past the last): the fee steps s + floor(q * 1e9 / rate), q >= 1
        (the last amount before ceil(rem * rate / 1e9) steps up: the unit after it is all
        fee), below t - 1; then t - 1 (the bin not completed: its last unit may pay less
        than a whole one) and t (the unit after it all fee, in this bin or the next). The
        bin's start s is the previous bin's end."""
        cdef u128 nq = fee_steps_c(s, t, rate)
        if i <= nq:
            return s + (i * FEE_PRECISION) // rate
        i -= nq
        if t - 1 > s:
            if i == 1:
                return t - 1
            i -= 1
        return t if i == 1 else 0

    cdef int fee_breaks_c(self, u128 a, u128* out) noexcept nogil:
        """breaks_c of an InputOnly sell: the BREAK_BINS edges (bin_edge_c) nearest below
        `a` and the BREAK_BINS nearest from `a` on, across bins: all the edges between the
        first and the last listed (a walk from window to window misses none). The fee is
        per bin, on the bin's input: it steps up every 1e9 / rate units from where the bin
        starts (its first unit all fee). Whole-bin totals are placed first, each followed
        by its unit less (split.pin_c reads the even places as bin edges)."""
        cdef u128 got[2 * BREAK_BINS]
        cdef bint is_t[2 * BREAK_BINS]
        cdef bint placed[2 * BREAK_BINS]
        cdef int n = 0, nb, k, o, m = 0
        cdef int64_t lo = 0, hi, mid, j
        cdef u128 s, t, e, i, nq, i_up = 1
        cdef uint64_t rate
        self.ensure_sell_c(a)
        if self.cs == NULL or self.cs_len == 0:
            return 0
        hi = self.cs_len
        while lo < hi:                      # the first whole-bin total reaching a
            mid = (lo + hi) // 2
            if self.cs[3 * mid] >= a:
                hi = mid
            else:
                lo = mid + 1
        if lo < self.cs_len:                # the first edge of bin lo at or past a
            s = self.cs[3 * lo - 3] if lo else 0
            t = self.cs[3 * lo]
            rate = self.bin_rate_c(lo)
            nq = fee_steps_c(s, t, rate)
            i_up = nq + 1
            if rate != 0 and a > s:
                i = fee_from_amount_c(a - s, rate)
                i_up = i if i < i_up else i_up
            e = self.bin_edge_c(s, t, rate, i_up)
            while e != 0 and e < a:         # at most two (t - 1, t >= a)
                i_up += 1
                e = self.bin_edge_c(s, t, rate, i_up)
        # below a: bin lo's edges before i_up, then the lower bins' from their ends
        nb = 0
        j = lo if lo < self.cs_len else self.cs_len - 1
        while j >= 0 and nb < BREAK_BINS:
            s = self.cs[3 * j - 3] if j else 0
            t = self.cs[3 * j]
            if t > s:
                rate = self.bin_rate_c(j)
                i = i_up - 1 if j == lo else (
                    fee_steps_c(s, t, rate) + (2 if t - 1 > s else 1))
                while i >= 1 and nb < BREAK_BINS:
                    e = self.bin_edge_c(s, t, rate, i)
                    if e != 0:
                        got[n] = e
                        is_t[n] = e == t
                        n += 1
                        nb += 1
                    i -= 1
            j -= 1
        # from a on: bin lo's edges from i_up, then the higher bins' (the cache grown)
        nb = 0
        j = lo
        while nb < BREAK_BINS:
            if j >= self.cs_len:
                if self.cs_end != 0:
                    break
                self.ensure_sell_c(self.cs[3 * self.cs_len - 3] + 1)
                if j >= self.cs_len:
                    break
            s = self.cs[3 * j - 3] if j else 0
            t = self.cs[3 * j]
            if t > s:
                rate = self.bin_rate_c(j)
                i = i_up if j == lo else 1
                while nb < BREAK_BINS:
                    e = self.bin_edge_c(s, t, rate, i)
                    if e == 0:
                        break
                    got[n] = e
                    is_t[n] = e == t
                    n += 1
                    nb += 1
                    i += 1
            j += 1
        # the order means nothing to edges_c and limits (they read every amount)
        for k in range(n):
            placed[k] = False
        for k in range(n):
            if is_t[k]:
                out[m] = got[k]
                m += 1
                placed[k] = True
                for o in range(n):
                    if not is_t[o] and not placed[o] and got[o] == got[k] - 1:
                        out[m] = got[o]
                        m += 1
                        placed[o] = True
                        break
        for k in range(n):
            if not placed[k]:
                out[m] = got[k]
                m += 1
        return m

    cdef uint64_t bin_rate_c(self, int64_t j) noexcept nogil:
        """The fee rate of the sell cache's bin j (j bins below the active one)."""
        return self.fee_rate_c(self.va_at_c(self.active_id - j, self.cs_ir, self.cs_vr))
