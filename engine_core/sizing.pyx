"""The fast path of limits.max_fill_within_limit (limit and amount below 2**64, at most
MAX_VENUES - 1 pools): the largest fill whose average price respects a limit, searched on
the marginal price over the venues' exact quotes (sized_route_c)."""

from libc.math cimport INFINITY
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from engine_core.amm cimport i128, py_u128, u128
from engine_core.router cimport route_of_c
from engine_core.split cimport MAX_VENUES, Venues, bits_of, px_of, WORST

cdef int PROBES = 32


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


cdef object sized_route_c(dict pools, str side, u128 n, u128 limit, u128 scale):
    """The best route of the largest a <= n whose average price respects `limit`, or None.

    Search on the marginal price, not on the amount: the largest fill sits where the route's
    marginal price has moved past the limit by as much as the average allows, and the slack
    L*a - cost(a) is largest where the marginal price IS the limit (a* below). So:
    1. a* = the venues' depth at the limit price; nothing fits if a* does not (rounding aside:
       then the exact route of a* is tried too).
    2. bisection on λ (the bits of a double) between the limit and the far end: the amount
       Σ depth(λ) and its exact value; fits is monotone along λ.
    3. between the two last λ, the venues whose depth jumps (a DLMM bin) take the extra
       units: bisection on that amount.
    4. the exact router's route of that amount when it fits (a few units further while it
       does); otherwise the marginal allocation's own route.
    No band is skipped: every amount tried lies on the monotone part beyond a*."""
    cdef bint buy = side == "buy"
    names = sorted(pools)
    cdef Venues v = Venues([pools[name] for name in names], side, need=py_u128(n))
    cdef u128 alloc[MAX_VENUES]
    cdef u128 dg[MAX_VENUES]
    cdef u128 df[MAX_VENUES]
    cdef u128 a_g, a_f, s, lo, hi, mid, step
    cdef uint64_t good, far, m
    cdef double px = (<double>limit) / (<double>scale)
    cdef int k, _extra
    if v.allocate_c(n, alloc) == 0 and fits_c(buy, v.total_c(alloc), n, limit, scale):
        return route_of_c(side, names, v, alloc, py_u128(n))
    a_g = sum_depth_c(v, px, n, dg)
    if a_g >= n:                       # n itself did not fit: start just below it
        a_g = n - 1
        if a_g == 0 or v.allocate_c(a_g, dg) != 0:
            return None
    if a_g == 0:                       # the first unit may still fit, by its rounding
        a_g = 1
        if v.allocate_c(1, dg) != 0:
            return None
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
            return None
    good = bits_of(px)
    far = bits_of(INFINITY) if buy else 0
    a_f = 0
    for k in range(v.nv):
        df[k] = v.caps[k] if v.caps[k] < n else n
        a_f += df[k]
    if a_f > n:
        a_f = n
    while (far - good > 1 if far > good else good - far > 1) and a_f - a_g > 1:
        m = good + (far - good) // 2 if far > good else far + (good - far) // 2
        s = sum_depth_c(v, px_of(m), n, alloc)
        if s < n and (s <= a_g or fits_c(buy, v.total_c(alloc), s, limit, scale)):
            if s > a_g:
                a_g = s
                memcpy(dg, alloc, v.nv * sizeof(u128))
            good = m
        else:
            far = m
            if s < a_f:
                a_f = s
                memcpy(df, alloc, v.nv * sizeof(u128))
    lo = a_g
    hi = a_f if a_f < n else n
    while hi - lo > 1:                 # fits(lo); not fits(hi) or hi == n (known not to)
        mid = lo + (hi - lo) // 2
        spread_c(v, dg, df, mid - a_g, alloc)
        if fits_c(buy, v.total_c(alloc), mid, limit, scale):
            lo = mid
        else:
            hi = mid
    spread_c(v, dg, df, lo - a_g, dg)
    # the exact route of lo (what best_route answers), and a few units more while they fit
    if v.allocate_c(lo, alloc) == 0 and fits_c(buy, v.total_c(alloc), lo, limit, scale):
        memcpy(dg, alloc, v.nv * sizeof(u128))
        step = 1
        for _extra in range(8):
            if lo + step >= n or v.allocate_c(lo + step, alloc) != 0 or not fits_c(
                    buy, v.total_c(alloc), lo + step, limit, scale):
                break
            lo += step
            memcpy(dg, alloc, v.nv * sizeof(u128))
    return route_of_c(side, names, v, dg, None)
