"""The fast path of limits.max_fill_within_limit (limit and amount below 2**64, at most
MAX_VENUES - 1 pools): the largest fill whose average price respects a limit, searched on
the marginal price over the venues' exact quotes, then completed past the venues' steps,
all on one Venues in C (sized_route_c); one Route is built, for the answer."""

from libc.math cimport INFINITY
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from engine_core.amm cimport Pool, i128, py_u128, u128
from engine_core.router cimport route_of_c
from engine_core.split cimport MAX_VENUES, Venues, bits_of, px_of, WORST

cdef enum:
    EDGE_TRIES = 4          # more_c: edge amounts tried per jump

cdef int PROBES = 32
cdef int EDGE_JUMPS = 64    # more_c: steps' edges jumped to, at most
cdef u128 Q64_C = (<u128>1) << 64
cdef double PRUNE = 1e-9    # alone_c: a venue's first unit this much past the limit: skipped


cdef inline bint fits_c(bint buy, i128 value, u128 a, u128 limit, u128 scale) noexcept:
    """sell: out * scale >= L * a; buy: cost * scale <= L * a (limit < 2**64, so both
    products fit 128 bits)."""
    cdef u128 q
    if value == WORST:
        return False
    q = <u128>(-value) if buy else <u128>value
    return q * scale <= limit * a if buy else q * scale >= limit * a


cdef u128 sum_depth_c(Venues v, double px, u128 limit, u128* d) noexcept:
    cdef u128 s = 0
    cdef Py_ssize_t i
    for i in range(v.nv):
        d[i] = v.depth_c(i, px, limit)
        s += d[i]
    return s


cdef u128 spread_c(Venues v, u128* dg, u128* df, u128 extra, u128* out) noexcept:
    """out = dg plus `extra` units placed on the venues whose depth grows from dg to df."""
    cdef Py_ssize_t i
    cdef u128 e, s = 0
    for i in range(v.nv):
        out[i] = dg[i]
        if extra and df[i] > dg[i]:
            e = df[i] - dg[i]
            if e > extra:
                e = extra
            out[i] += e
            extra -= e
        s += out[i]
    return s


cdef class _Sizer:
    """One side of one market against a limit: the venues (capacities looked up as far as
    the order's amount n), and the predicate fit_c."""

    cdef Venues v
    cdef bint buy
    cdef u128 n
    cdef u128 limit
    cdef u128 scale
    cdef double px

    def __cinit__(self, Venues v, bint buy, uint64_t n, uint64_t limit, uint64_t scale):
        self.v = v
        self.buy = buy
        self.n = n
        self.limit = limit
        self.scale = scale
        self.px = (<double>limit) / (<double>scale)

    cdef bint fit_c(self, u128 a, u128* alloc) noexcept:
        """alloc = best_route's allocation of a (each venue's capacity cut to a, as
        best_route's own Venues has it); True when it respects the limit."""
        cdef Venues v = self.v
        cdef u128 caps[MAX_VENUES]
        cdef Py_ssize_t i
        cdef int rc
        cdef i128 value
        if a == 0 or a > self.n:
            return False
        memcpy(caps, v.caps, v.nv * sizeof(u128))
        for i in range(v.nv):
            if v.caps[i] > a:
                v.caps[i] = a
        rc = v.allocate_c(a, alloc)
        value = v.total_c(alloc) if rc == 0 else WORST
        memcpy(v.caps, caps, v.nv * sizeof(u128))
        return fits_c(self.buy, value, a, self.limit, self.scale)

    cdef u128 search_c(self, u128* out) noexcept:
        """The largest a <= n that fits (0: none found), searched on the marginal price, not
        on the amount: the largest fill sits where the route's marginal price has moved past
        the limit by as much as the average allows, and the slack L*a - cost(a) is largest
        where the marginal price IS the limit (a* below). So:
        0. n itself, first only where a* reaches n or a venue has steps worth a quote unit.
        1. a* = the venues' depth at the limit price; nothing fits if a* does not (rounding
           aside: then amounts up to 2 a* are probed).
        2. bisection on λ (the bits of a double) between the limit and the far end: the
           amount Σ depth(λ) and its exact value; fits is monotone along λ.
        3. between the two last λ, the venues whose depth jumps (a DLMM bin) take the extra
           units: bisection on that amount.
        4. out: the exact router's allocation of that amount when it fits, else the marginal
           allocation's (more_c goes on from there).
        No band is skipped: every amount tried lies on the monotone part beyond a*."""
        cdef Venues v = self.v
        cdef bint buy = self.buy
        cdef u128 n = self.n, limit = self.limit, scale = self.scale
        cdef u128 alloc[MAX_VENUES]
        cdef u128 dg[MAX_VENUES]
        cdef u128 df[MAX_VENUES]
        cdef u128 a_g, a_f, s, lo, hi, mid
        cdef uint64_t good, far, m
        cdef u128 lg[MAX_VENUES]           # the venues' depths at λ good and far
        cdef u128 lf[MAX_VENUES]
        cdef double px = self.px
        cdef int k
        cdef bint stepped = False
        a_g = sum_depth_c(v, px, n, dg)
        memcpy(lg, dg, v.nv * sizeof(u128))
        for k in range(v.np):
            if self.stepped_c(k, dg[k]):
                stepped = True
        # n itself: where the marginal price at n is past the limit and no venue has steps
        # worth a quote unit, n fits only if the amounts on the way do (the search below
        # and gallop_c ask n when they get there); else ask it first
        if (a_g >= n or stepped) and self.fit_c(n, out):
            return n
        if a_g >= n:                       # n itself did not fit: start just below it
            a_g = n - 1
            if a_g == 0 or v.allocate_c(a_g, dg) != 0:
                return 0
        if a_g == 0:                       # the first unit may still fit, by its rounding
            a_g = 1
            if v.allocate_c(1, dg) != 0:
                return 0
        if not fits_c(buy, v.total_c(dg), a_g, limit, scale):
            # the slack at a* is within the venues' rounding: amounts up to 2 a* (where the
            # slack stays positive in real terms) fit when their rounding is small; probe them
            s = a_g
            a_g = 0
            if 2 * s >= n:
                s = (n - 1) // 2
            for k in range(PROBES, 0, -1):
                mid = s * 2 * k // PROBES
                if mid == 0 or mid >= n or v.allocate_c(mid, alloc) != 0:
                    continue
                mid = v.tighten_c(alloc)       # the best rounding near mid, same value
                if mid and mid < n and fits_c(buy, v.total_c(alloc), mid, limit, scale):
                    a_g = mid
                    memcpy(dg, alloc, v.nv * sizeof(u128))
                    break
            if a_g == 0:
                return 0
        good = bits_of(px)
        far = bits_of(INFINITY) if buy else 0
        a_f = 0
        for k in range(v.nv):
            df[k] = v.caps[k] if v.caps[k] < n else n
            lf[k] = df[k]
            a_f += df[k]
        if a_f > n:
            a_f = n
        while (far - good > 1 if far > good else good - far > 1) and a_f - a_g > 1:
            m = good + (far - good) // 2 if far > good else far + (good - far) // 2
            s = 0
            for k in range(v.nv):
                # depth is monotone in λ: a venue whose depth is the same at both ends
                # has it in between too
                alloc[k] = lg[k] if lg[k] == lf[k] else v.depth_c(k, px_of(m), n)
                s += alloc[k]
            if s < n and (s <= a_g or fits_c(buy, v.total_c(alloc), s, limit, scale)):
                memcpy(lg, alloc, v.nv * sizeof(u128))
                if s > a_g:
                    a_g = s
                    memcpy(dg, alloc, v.nv * sizeof(u128))
                good = m
            else:
                memcpy(lf, alloc, v.nv * sizeof(u128))
                far = m
                if s < a_f:
                    a_f = s
                    memcpy(df, alloc, v.nv * sizeof(u128))
        lo = a_g
        hi = a_f if a_f < n else n
        while hi - lo > 1:                 # fits(lo); not fits(hi), or hi == n (gallop_c)
            mid = lo + (hi - lo) // 2
            spread_c(v, dg, df, mid - a_g, alloc)
            if fits_c(buy, v.total_c(alloc), mid, limit, scale):
                lo = mid
            else:
                hi = mid
        if self.fit_c(lo, out):
            return lo
        spread_c(v, dg, df, lo - a_g, out)
        return lo

    cdef u128 gallop_c(self, u128 a, u128* out) noexcept:
        """From a that fits (out: its allocation): while the next unit fits, gallop up (1, 2,
        4, ... units) and bisect back to the last amount that fits."""
        cdef u128 alloc[MAX_VENUES]
        cdef u128 lo, hi, step, mid
        cdef Py_ssize_t nv = self.v.nv
        while a < self.n:
            if not self.fit_c(a + 1, alloc):
                return a
            a += 1
            memcpy(out, alloc, nv * sizeof(u128))
            step = 2
            lo = a
            hi = 0
            while lo + step <= self.n:
                if not self.fit_c(lo + step, alloc):
                    hi = lo + step
                    break
                lo += step
                memcpy(out, alloc, nv * sizeof(u128))
                step *= 2
            if hi == 0:
                hi = self.n + 1
            while hi - lo > 1:             # fits(lo), not (known to) fit hi
                mid = lo + (hi - lo) // 2
                if self.fit_c(mid, alloc):
                    lo = mid
                    memcpy(out, alloc, nv * sizeof(u128))
                else:
                    hi = mid
            a = lo
        return a

    cdef bint stepped_c(self, Py_ssize_t i, u128 a) noexcept:
        """Venue i has steps near a worth a quote unit or more (a base unit worth that
        much; below, a step costs less than the rounding, whose luck is not chased)."""
        cdef Pool p = <Pool>self.v.pools[i]
        cdef u128 cand[8]
        if p.spot_x64_c() < Q64_C:
            return False
        return p.breaks_c(not self.buy, a if a else 1, cand) > 0

    cdef int edges_c(self, u128 base, u128* alloc, u128* out) noexcept:
        """Amounts above base (<= n) that move one venue of the allocation to one of its next
        step edges (Pool.breaks_c), the other legs as they are; the EDGE_TRIES smallest,
        ascending. Only venues where a base unit is worth a quote unit or more: below, a
        step costs less than the rounding, whose luck the search does not chase."""
        cdef Venues v = self.v
        cdef u128 cand[8]
        cdef u128 every[8 * MAX_VENUES]
        cdef u128 a, c, have, last = base, best
        cdef Py_ssize_t i
        cdef int m, k, cnt = 0, got = 0
        cdef Pool p
        for i in range(v.np):
            p = <Pool>v.pools[i]
            if p.spot_x64_c() < Q64_C:
                continue
            have = alloc[i] if base else 0
            m = p.breaks_c(not self.buy, have if have else 1, cand)
            for k in range(m):
                c = cand[k]
                a = base - have + c
                if c > have and base < a <= self.n:
                    every[cnt] = a
                    cnt += 1
        while got < EDGE_TRIES:            # the smallest, unique, ascending
            best = 0
            for k in range(cnt):
                if every[k] > last and (best == 0 or every[k] < best):
                    best = every[k]
            if best == 0:
                break
            out[got] = best
            got += 1
            last = best
        return got

    cdef u128 alone_c(self, u128 base, u128* alloc) noexcept:
        """The largest amount above base that some venue alone fits (0: none), each venue
        sized alone (search_c and more_c on it) where the route of base (none when base is
        0) has a leg on another venue, and that venue or one of the route has steps worth a
        quote unit (stepped_c): an input fee's first unit is a fixed cost per venue used and
        its steps make a venue's own fitting amounts not one interval, so one venue alone
        can fit further than the search over all of them reached (a 2-cpmm sell fit at 301
        split and at 333 all on one venue). Whatever fits on one venue, its best route fits
        too (Venues.allocate_c is never worse than one venue). Venues whose first unit, fee
        included, is past the limit are skipped: alone they fit nothing."""
        cdef Venues v = self.v
        cdef _Sizer one
        cdef Venues alone
        cdef u128 oalloc[MAX_VENUES]
        cdef u128 best = 0, got
        cdef Py_ssize_t j, k
        cdef bint other, steps
        cdef double e
        if v.np < 2:
            return 0
        for j in range(v.np):
            if v.caps[j] <= base:
                continue
            e = v.edge_c(j)
            if (e > self.px * (1.0 + PRUNE)) if self.buy else (e < self.px * (1.0 - PRUNE)):
                continue
            # a leg elsewhere (or no route yet), and steps on j or on a venue of the route
            other = base == 0
            steps = self.stepped_c(j, alloc[j] if base else 0)
            for k in range(v.np if base else 0):
                if k != j and alloc[k]:
                    other = True
                    if not steps and self.stepped_c(k, alloc[k]):
                        steps = True
            if not other or not steps:
                continue
            alone = Venues([v.pools[j]], "buy" if self.buy else "sell", need=py_u128(self.n))
            one = _Sizer.__new__(_Sizer, alone, self.buy, <uint64_t>self.n,
                                 <uint64_t>self.limit, <uint64_t>self.scale)
            got = one.more_c(one.search_c(oalloc), oalloc, False)
            if got > best and got > base:
                best = got
        return best

    cdef u128 more_c(self, u128 a, u128* out, bint alone) noexcept:
        """The integer rounding of the quotes makes the average price jitter around the
        limit, and a venue's steps (an input fee's, a DLMM bin's) make it fall and rise
        again, so amounts past the first one that does not fit may fit again and the search
        can stop short. From a (out: its allocation; 0: none): gallop up while the next unit
        fits (gallop_c); with `alone`, the venues sized alone (alone_c) once, jumping to the
        largest amount one fits; then try the amounts that put one venue at one of its next
        steps' edges (the rest as in the route), smallest first, and gallop on from the first
        that fits (also when the search found nothing: a venue's first step may fit alone);
        one quote when nothing more fits and no venue has a step ahead."""
        cdef u128 alloc[MAX_VENUES]
        cdef u128 cand[EDGE_TRIES]
        cdef u128 b
        cdef int _jump, m, k
        cdef bint found
        cdef Py_ssize_t nv = self.v.nv
        for _jump in range(EDGE_JUMPS):
            if a:
                a = self.gallop_c(a, out)
                if a >= self.n:
                    return a
            if alone:
                alone = False
                b = self.alone_c(a, out)
                if b > a and self.fit_c(b, alloc):
                    a = b
                    memcpy(out, alloc, nv * sizeof(u128))
                    continue
            m = self.edges_c(a, out, cand)
            found = False
            for k in range(m):
                if self.fit_c(cand[k], alloc):
                    a = cand[k]
                    memcpy(out, alloc, nv * sizeof(u128))
                    found = True
                    break
            if not found:
                return a
        return a


cdef object sized_route_c(dict pools, str side, u128 n, u128 limit, u128 scale):
    """The best route (router.best_route) of the largest a <= n whose average price respects
    `limit`, or None: _Sizer.search_c, then _Sizer.more_c (the venues' steps, each venue alone
    where that can fit further)."""
    cdef bint buy = side == "buy"
    cdef u128 alloc[MAX_VENUES]
    cdef u128 a
    names = sorted(pools)
    cdef Venues v = Venues([pools[name] for name in names], side, need=py_u128(n))
    cdef _Sizer sz = _Sizer.__new__(_Sizer, v, buy, <uint64_t>n, <uint64_t>limit,
                                    <uint64_t>scale)
    a = sz.more_c(sz.search_c(alloc), alloc, True)
    if a == 0:
        return None
    return route_of_c(side, names, v, alloc, py_u128(a))
