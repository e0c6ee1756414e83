"""The optimal allocation of an amount across venues, at the exact integer level.

Every venue's value (quote out for a sell, minus quote in for a buy) is concave in real
arithmetic, so the best split gives each venue the amount at which its marginal price,
fee included, reaches one common price λ. The search has two steps:
1. λ by bisection on the bits of a double (positive doubles order as their bits), each
   venue answering `depth(λ)`: the amount it trades at marginal prices at least as good as
   λ (monotone in λ). What is left between the two last λ goes to the venues whose depth
   jumps there (a DLMM bin, a resting order: all at the same price).
2. The exact integer refinement, on the venues' own integer quotes: for every pair, moves of
   d units between the two (d from about 4 quote units' worth down to 1) while the total
   gets strictly better, then the alignment step: keep one venue's integer value and move
   the units that value does not need (sell: the smallest input giving that output; buy: the
   largest output for that cost) to the other one.
The result is never worse than the best single venue (checked). The internal book is one
more venue: levels best first, each at its price (quote = qty * price // 10**decimals).
Step 2 lives in split_refine.pyx (functions over a Venues).
"""

from libc.math cimport INFINITY
from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memcpy

from engine_core.amm cimport OK, Pool, amount_arg, i128, py_u128, u128
from engine_core.split_refine cimport favour_book_c, prune_c, refine_c

from engine_core.amm import InsufficientLiquidity

cdef u128 U64 = (<u128>1) << 64


cdef bint pin_c(Venues self, u128 n, u128* alloc, double px) noexcept:
    """3+ venues: each pool pinned at 0 or at a bin edge near its amount (the whole-bin
    totals either side of it, and one unit less), the rest allocated among the others,
    where that can gain more than 1 quote unit at the others' marginal values or at px. An
    input fee's ceiling takes a whole base unit in a venue's or a bin's first units (a fixed
    cost): the pairwise moves cannot see that avoiding it pays when the rest has to be
    spread over two or more other venues. True when the allocation got better."""
    cdef u128 trial[MAX_VENUES]
    cdef u128 cand[2 * 4 + 2]
    cdef u128 a, c, lo, hi, cap
    cdef i128 best_v = self.total_c(alloc), dv, v
    cdef Py_ssize_t i, k
    cdef int m, t, _t
    cdef bint better = False
    cdef long double gain, mk, mhi, mlo, spx = px if self.sell else -px
    for i in range(self.np):
        a = alloc[i]
        # the others' marginal values, per unit (+ quote for a sell, - quote for a buy):
        # the best of a unit more (mhi), the least of a unit less (mlo)
        mhi = -INFINITY
        mlo = INFINITY
        for k in range(self.nv):
            if k == i:
                continue
            lo = alloc[k] >> 6 if alloc[k] >> 6 else 1
            if alloc[k] + lo <= self.caps[k]:
                mk = (<long double>(self.value_c(k, alloc[k] + lo) - self.value_c(k, alloc[k]))
                      / <long double>lo)
                mhi = mk if mk > mhi else mhi
            if alloc[k] >= lo:
                mk = (<long double>(self.value_c(k, alloc[k]) - self.value_c(k, alloc[k] - lo))
                      / <long double>lo)
                mlo = mk if mk < mlo else mlo
        lo = 0
        hi = 0
        for _t in range(2):                 # whole-bin totals either side of a
            m = (<Pool>self.pools[i]).breaks_c(self.sell, (hi if hi else a) + 1, cand)
            for k in range(0, m, 2):
                if cand[k] < a and cand[k] > lo:
                    lo = cand[k]
                if cand[k] > a + 1 and (hi <= a + 1 or cand[k] < hi) and cand[k] <= self.caps[i]:
                    hi = cand[k]
                elif cand[k] == a + 1 and hi == 0:
                    hi = a + 1
            if hi != a + 1:
                break
        if hi == a + 1:
            hi = 0
        for t in range(5):
            c = (0, lo, lo - 1 if lo > 1 else 0, hi, hi - 1 if hi > a + 1 else 0)[t]
            if (c == 0 and t > 0) or c == a or c > n or (t == 0 and a == 0):
                continue
            # about what moving the units between c and a to (or from) the others can gain
            dv = self.value_c(i, c) - self.value_c(i, a)
            if c < a:
                gain = dv + (<long double>(a - c)) * (mhi if mhi > spx else spx)
            else:
                gain = dv - (<long double>(c - a)) * (mlo if mlo < spx else spx)
            if not gain > 1:
                continue
            cap = self.caps[i]
            self.caps[i] = 0
            trial[i] = c + 1
            if self.total_cap_c() >= n - c:
                refine_c(self, trial, self.at_amount_c(n - c, trial))
                prune_c(self, trial)
                trial[i] = c
            self.caps[i] = cap
            if trial[i] == c:
                v = self.total_c(trial)
                if v > best_v:
                    best_v = v
                    memcpy(alloc, trial, self.nv * sizeof(u128))
                    better = True
                    break                   # the next round looks from there
    return better


cdef class Venues:

    def __cinit__(self):
        self.bq = NULL
        self.bv = NULL
        self.bprice = NULL
        self.bpx = NULL
        self.nb = 0

    def __dealloc__(self):
        free(self.bq)
        free(self.bv)
        free(self.bprice)
        free(self.bpx)

    def __init__(self, list pools, str side, makers=(), int base_decimals=0, need=None):
        """pools: Pool objects; makers: [(price_raw, qty)] best first (price_raw per whole
        base token, as the book keeps it); need: the largest amount that will be asked
        (capacities are looked up that far; None: as far as they go)."""
        cdef Py_ssize_t i
        cdef u128 q = 0, p, c = 0
        cdef i128 v = 0
        cdef u128 lim = U64 - 1 if need is None or need >= 2**64 - 1 else amount_arg(need)
        if side not in ("buy", "sell"):
            raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
        self.sell = side == "sell"
        if len(pools) > MAX_VENUES - 1:
            raise ValueError(f"at most {MAX_VENUES - 1} pools")
        self.pools = pools
        self.np = len(pools)
        for i in range(self.np):
            self.caps[i] = ((<Pool?>pools[i]).sell_capacity_c(lim) if self.sell
                            else (<Pool>pools[i]).buy_capacity_c(lim))
        makers = [m for m in makers if m[1] > 0]
        self.nv = self.np + (1 if makers else 0)
        self.scale = 10 ** <object>base_decimals
        if not makers:
            return
        self.nb = len(makers)
        self.bq = <u128*>malloc(self.nb * sizeof(u128))
        self.bv = <i128*>malloc(self.nb * sizeof(i128))
        self.bprice = <u128*>malloc(self.nb * sizeof(u128))
        self.bpx = <double*>malloc(self.nb * sizeof(double))
        if self.bq == NULL or self.bv == NULL or self.bprice == NULL or self.bpx == NULL:
            raise MemoryError()
        for i, (price, qty) in enumerate(makers):
            if not 0 <= price < 2**64 or not 0 < qty < 2**64:
                raise ValueError("maker price and qty must fit 64 bits")
            p = price
            q += <u128>(<uint64_t>qty)
            c = (<u128>(<uint64_t>qty)) * p // self.scale
            v += <i128>c if self.sell else -<i128>c
            if q >= U64:
                raise ValueError("the makers' total must fit 64 bits")
            self.bq[i] = q
            self.bv[i] = v
            self.bprice[i] = p
            self.bpx[i] = (<double>price) / (<double>self.scale)
        self.caps[self.np] = q

    # -- QUERIES --
    cdef i128 value_c(self, Py_ssize_t i, u128 a) noexcept:
        """Sell: quote out; buy: minus quote in; WORST when venue i cannot take a."""
        cdef u128 q = 0, f = 0, prev = 0
        cdef i128 v = 0
        cdef int rc
        cdef Py_ssize_t lo = 0, hi, mid
        if a == 0:
            return 0
        if a > self.caps[i]:
            return WORST
        if i < self.np:
            if self.sell:
                rc = (<Pool>self.pools[i]).quote_sell_c(a, &q, &f)
                return <i128>q if rc == OK else WORST
            rc = (<Pool>self.pools[i]).quote_buy_c(a, &q, &f)
            return -<i128>q if rc == OK else WORST
        hi = self.nb - 1
        while lo < hi:                      # the first level whose cumulative qty reaches a
            mid = (lo + hi) // 2
            if self.bq[mid] >= a:
                hi = mid
            else:
                lo = mid + 1
        if lo:
            prev = self.bq[lo - 1]
            v = self.bv[lo - 1]
        q = (a - prev) * self.bprice[lo] // self.scale
        return v + <i128>q if self.sell else v - <i128>q

    cdef u128 depth_c(self, Py_ssize_t i, double px, u128 limit) noexcept:
        cdef Py_ssize_t lo = 0, hi = self.nb, mid
        cdef u128 d
        if limit > self.caps[i]:
            limit = self.caps[i]
        if i < self.np:
            return (<Pool>self.pools[i]).depth_c(self.sell, px, limit)
        while lo < hi:                      # the first level worse than px
            mid = (lo + hi) // 2
            if (self.bpx[mid] >= px) if self.sell else (self.bpx[mid] <= px):
                lo = mid + 1
            else:
                hi = mid
        d = self.bq[lo - 1] if lo else 0
        return d if d < limit else limit

    cdef double edge_c(self, Py_ssize_t i) noexcept:
        if i < self.np:
            return (<Pool>self.pools[i]).edge_c(self.sell)
        return self.bpx[0]

    cdef u128 total_cap_c(self) noexcept:
        cdef u128 s = 0
        cdef Py_ssize_t i
        for i in range(self.nv):
            s += self.caps[i]
        return s

    cdef i128 total_c(self, u128* alloc) noexcept:
        cdef i128 s = 0
        cdef Py_ssize_t i
        for i in range(self.nv):
            s += self.value_c(i, alloc[i])
        return s

    cdef double at_amount_c(self, u128 n, u128* alloc) noexcept:
        """alloc: the marginal-price allocation of n (caller checked total capacity >= n);
        returns the common marginal price λ found."""
        cdef u128 dg[MAX_VENUES]
        cdef u128 df[MAX_VENUES]
        cdef u128 sg = 0, sf = 0, s, r, extra
        cdef uint64_t good, far, mid
        cdef double e, best = 0.0 if self.sell else INFINITY
        cdef Py_ssize_t i
        cdef u128 tol = n >> 24
        for i in range(self.nv):
            if self.caps[i] == 0:
                continue
            e = self.edge_c(i)
            if (e > best) if self.sell else (e < best):
                best = e
        if self.sell:
            good = bits_of(best) + 1 if best > 0 else 1
            far = 0
        else:
            good = bits_of(best) - 1 if best > 0 and best < INFINITY else 0
            far = bits_of(INFINITY)
        for i in range(self.nv):
            dg[i] = self.depth_c(i, px_of(good), n)
            df[i] = self.caps[i] if self.caps[i] < n else n
            sg += dg[i]
            sf += df[i]
        if sg >= n:                        # dust: every venue's first units are enough
            for i in range(self.nv):
                df[i] = dg[i]
                dg[i] = 0
            sf = sg
            sg = 0
            far = good
            good = bits_of(INFINITY) if self.sell else 0
        while (far - good > 1 if far > good else good - far > 1) and sf - sg > tol:
            mid = good + (far - good) // 2 if far > good else far + (good - far) // 2
            s = 0
            for i in range(self.nv):
                # depth is monotone in λ: a venue whose depth is the same at both ends has
                # it in between too (a DLMM past its last bin within reach, a venue at 0)
                alloc[i] = dg[i] if dg[i] == df[i] else self.depth_c(i, px_of(mid), n)
                s += alloc[i]
            if s >= n:
                far = mid
                sf = s
                memcpy(df, alloc, self.nv * sizeof(u128))
            else:
                good = mid
                sg = s
                memcpy(dg, alloc, self.nv * sizeof(u128))
        r = n - sg
        for i in range(self.nv):
            alloc[i] = dg[i]
            if r and df[i] > dg[i]:
                extra = df[i] - dg[i]
                if extra > r:
                    extra = r
                alloc[i] += extra
                r -= extra
        for i in range(self.nv):           # depths are approximate: place any rest
            if r == 0:
                break
            if self.caps[i] > alloc[i]:
                extra = self.caps[i] - alloc[i]
                if extra > r:
                    extra = r
                alloc[i] += extra
                r -= extra
        return px_of(good) if good != 0 and px_of(good) < INFINITY else px_of(far)

    cdef u128 tighten_c(self, u128* alloc) noexcept:
        """Each venue alone at the edge of its integer value: a sell's smallest input for
        the same output, a buy's largest output for the same cost (the best average price
        near the allocation). Returns the new total amount."""
        cdef Py_ssize_t i
        cdef u128 a, good, bad, s, mid, room, total = 0
        cdef i128 vi
        for i in range(self.nv):
            a = alloc[i]
            if a:
                vi = self.value_c(i, a)
                room = a if self.sell else self.caps[i] - a
                good = 0
                s = 1
                while s <= room and self.value_c(i, a - s if self.sell else a + s) == vi:
                    good = s
                    s <<= 1
                bad = s if s <= room else room + 1
                while bad - good > 1:
                    mid = good + (bad - good) // 2
                    if self.value_c(i, a - mid if self.sell else a + mid) == vi:
                        good = mid
                    else:
                        bad = mid
                alloc[i] = a - good if self.sell else a + good
            total += alloc[i]
        return total

    cdef int allocate_c(self, u128 n, u128* alloc) noexcept:
        """The best allocation of n (sum of alloc = n); -1 when the venues cannot fill it."""
        cdef Py_ssize_t i, best = -1
        cdef i128 v, best_v
        cdef double px
        cdef u128 before[MAX_VENUES]
        cdef int _round
        if self.total_cap_c() < n:
            return -1
        for i in range(self.nv):
            alloc[i] = 0
        if n == 0:
            return 0
        if self.nv == 1:
            alloc[0] = n
            return 0
        px = self.at_amount_c(n, alloc)
        refine_c(self, alloc, px)
        memcpy(before, alloc, self.nv * sizeof(u128))
        prune_c(self, alloc)
        if self.nv > 2:
            if memcmp(before, alloc, self.nv * sizeof(u128)) != 0:
                # a leg moved whole (a venue's fixed cost saved, e.g. an input fee's first
                # unit): the venues left may split the amount better
                refine_c(self, alloc, px)
            for _round in range(3):
                if not pin_c(self, n, alloc, px):
                    break
                refine_c(self, alloc, px)   # the pinned venue against the others again
        favour_book_c(self, alloc)
        best_v = self.total_c(alloc)
        for i in range(self.nv):
            if self.caps[i] >= n:
                v = self.value_c(i, n)
                if v > best_v:
                    best_v = v
                    best = i
        if best >= 0:
            for i in range(self.nv):
                alloc[i] = n if i == best else 0
        return 0

    # -- PYTHON API (tests, tools) --
    def allocate(self, amount):
        """[amount per venue] (pools in the given order, then the book) of the best split."""
        cdef u128 alloc[MAX_VENUES]
        cdef u128 n = amount_arg(amount)
        if self.allocate_c(n, alloc) != 0:
            raise InsufficientLiquidity(f"the venues cannot fill {amount} base units")
        return [py_u128(alloc[i]) for i in range(self.nv)]

    def value(self, Py_ssize_t i, amount):
        """Venue i's exact value of `amount` (sell: quote out; buy: -quote in), or None."""
        cdef i128 v
        if not 0 <= i < self.nv:
            raise IndexError(i)
        v = self.value_c(i, amount_arg(amount))
        if v == WORST:
            return None
        return py_u128(<u128>v) if v >= 0 else -py_u128(<u128>(-v))

    def depth(self, Py_ssize_t i, double px):
        return py_u128(self.depth_c(i, px, U64 - 1))

    def __len__(self):
        return self.nv
