"""Step 2 of split.pyx's search: the exact integer refinement of an allocation across the
venues, on their own integer quotes (pair moves, scans, bin edges, alignment, pruning, the
book's levels completed).

Functions over a Venues rather than methods, so that split.pyx stays one job; `self` is
the Venues they refine (they were its methods). Not a base class of Venues: Cython gives a
class its fast (vectorcall) constructor only when all its bases are in its own module, and
a Venues is built for every route.
"""

from libc.math cimport INFINITY

from engine_core.amm cimport Pool, i128, u128
from engine_core.split cimport WORST

cdef int ROUNDS = 4
cdef u128 SCAN = 24
cdef int WALK = 32          # edges_c: windows of breaks walked each way, at most
cdef u128 UNIT_SPAN = 2     # edges_c: the span a venue's unit value is measured on


cdef bint align_c(Venues self, Py_ssize_t i, Py_ssize_t j, u128* alloc) noexcept:
    """Keep venue i's integer value and move what it does not need to j (sell: i's
    smallest input with that output; buy: i's largest output for that cost)."""
    cdef u128 ai = alloc[i], aj = alloc[j], room, good = 0, bad, s = 1, mid
    cdef i128 vi = self.value_c(i, ai), cur = vi + self.value_c(j, aj), v
    room = ai if self.sell else aj
    if room == 0:
        return False
    while s <= room and self.value_c(i, ai - s if self.sell else ai + s) == vi:
        good = s
        s <<= 1
    bad = s if s <= room else room + 1
    while bad - good > 1:
        mid = good + (bad - good) // 2
        if self.value_c(i, ai - mid if self.sell else ai + mid) == vi:
            good = mid
        else:
            bad = mid
    if good == 0:
        return False
    v = vi + self.value_c(j, aj + good if self.sell else aj - good)
    if v <= cur:
        return False
    alloc[i] = ai - good if self.sell else ai + good
    alloc[j] = aj + good if self.sell else aj - good
    return True


cdef bint moves_c(Venues self, Py_ssize_t i, Py_ssize_t j, u128* alloc, u128 d0) noexcept:
    """Moves of d units between i and j while the total gets strictly better, d from d0
    (doubled on a run of moves, halved when neither way gains) down to 1."""
    cdef u128 ai = alloc[i], aj = alloc[j], d = d0
    cdef i128 cur = self.value_c(i, ai) + self.value_c(j, aj), v
    cdef bint moved, changed = False
    cdef int streak = 0
    while d > 0:
        moved = False
        if aj >= d:
            v = self.value_c(i, ai + d) + self.value_c(j, aj - d)
            if v > cur:
                ai += d
                aj -= d
                cur = v
                moved = True
        if not moved and ai >= d:
            v = self.value_c(i, ai - d) + self.value_c(j, aj + d)
            if v > cur:
                ai -= d
                aj += d
                cur = v
                moved = True
        if moved:
            changed = True
            streak += 1
            if streak >= 2 and 2 * d <= ai + aj:
                d <<= 1          # far from the optimum (a coarse start): speed up
                streak = 0
        else:
            d >>= 1
            streak = 0
    alloc[i] = ai
    alloc[j] = aj
    return changed


cdef bint refine_pair_c(Venues self, Py_ssize_t i, Py_ssize_t j, u128* alloc, u128 d0) noexcept:
    cdef bint jumped, changed = moves_c(self, i, j, alloc, d0)
    cdef u128 t = alloc[i] + alloc[j]
    if ends_c(self, i, j, alloc):
        changed = True
    jumped = edges_c(self, i, j, alloc)
    if edges_c(self, j, i, alloc):
        jumped = True
    if jumped:
        # a step edge starts a stretch between two steps (of either venue) where the total
        # is concave again, and its top may lie inside it: climb to it (two input-fee
        # staircases, an InputOnly DLMM's and a CPMM's, left the split at a CPMM edge one
        # stretch off, then the edge it jumped to 129 units from the top, 59 quote units)
        moves_c(self, i, j, alloc, 1)
        changed = True
    if (d0 <= 8 or t <= 2 * SCAN) and scan_c(self, i, j, alloc):
        changed = True
    if align_c(self, i, j, alloc):
        changed = True
    if align_c(self, j, i, alloc):
        changed = True
    return changed


cdef bint scan_c(Venues self, Py_ssize_t i, Py_ssize_t j, u128* alloc) noexcept:
    """Every split within SCAN units of the current one. Where one base unit is worth half a
    quote unit or more (refine_c's d0 <= 8), the venues' roundings make the top of the curve
    jagged (two pools at 0.98 quote units a unit, sell fee 3 % off the output: the best split
    of 1826 lies 17 units from the even one, 2 quote units better)."""
    cdef u128 t = alloc[i] + alloc[j], lo, hi, a, best_a = alloc[i]
    cdef i128 cur = self.value_c(i, alloc[i]) + self.value_c(j, alloc[j]), v
    lo = alloc[i] - SCAN if alloc[i] > SCAN else 0
    hi = alloc[i] + SCAN if alloc[i] + SCAN < t else t
    for a in range(lo, hi + 1):
        v = self.value_c(i, a) + self.value_c(j, t - a)
        if v > cur:
            cur = v
            best_a = a
    if best_a == alloc[i]:
        return False
    alloc[i] = best_a
    alloc[j] = t - best_a
    return True


cdef bint edges_c(Venues self, Py_ssize_t i, Py_ssize_t j, u128* alloc) noexcept:
    """Try venue i at the edges of its steps near its amount (the rest to j): where the
    integer value is not concave (a DLMM bin's edges, an input fee's steps), the local moves
    cannot see across. Where one base unit is worth a quote unit or more, walk on along the
    edges (both ways, a window of breaks at a time) while a window holds a total within
    `margin` of the best: past that, the smooth part of the total only falls (the best lies
    within a unit of i's and j's values of it, and each edge's total is within one of j's
    units and the roundings of its smooth value)."""
    cdef u128 cand[8]
    cdef u128 t = alloc[i] + alloc[j], c, best_a = alloc[i], a = alloc[i], anchor, nxt
    cdef u128 lo0, hi0
    cdef i128 cur = self.value_c(i, a) + self.value_c(j, alloc[j]), v, wbest, margin
    cdef int k, m, _w, way
    cdef Pool p
    if i >= self.np:
        return False
    p = <Pool>self.pools[i]
    m = p.breaks_c(self.sell, a if a else 1, cand)
    if m == 0:
        return False
    lo0 = hi0 = cand[0]
    for k in range(m):                  # the first window, around a
        c = cand[k]
        lo0 = c if c < lo0 else lo0
        hi0 = c if c > hi0 else hi0
        if c > t or c == a:
            continue
        v = self.value_c(i, c) + self.value_c(j, t - c)
        if v > cur:
            cur = v
            best_a = c
    if p.spot_x64_c() >> 64 == 0:
        margin = 0                      # a base unit of i is worth under a quote unit
    else:
        margin = unit_c(self, i, a) + unit_c(self, j, alloc[j])
    for way in range(2 if margin > 2 * UNIT_SPAN else 0):   # 0: fewer units for i, 1: more
        anchor = lo0 if way == 0 else hi0
        for _w in range(WALK):
            if anchor == 0 or anchor > t:
                break
            # more units: ask past the anchor (breaks_c lists the edges up to the step
            # where its amount ends, and the anchor is an edge: asked at it, none is new)
            m = p.breaks_c(self.sell, anchor + 1 if way == 1 else anchor, cand)
            wbest = WORST
            nxt = anchor
            for k in range(m):
                c = cand[k]
                if (c >= anchor) if way == 0 else (c <= anchor):
                    continue            # seen in an earlier window
                if (c < nxt) if way == 0 else (c > nxt):
                    nxt = c
                if c > t:
                    continue
                v = self.value_c(i, c) + self.value_c(j, t - c)
                if v > wbest:
                    wbest = v
                if v > cur:
                    cur = v
                    best_a = c
            if nxt == anchor or wbest < cur - margin - 4:
                break
            anchor = nxt
    if best_a == alloc[i]:
        return False
    alloc[i] = best_a
    alloc[j] = t - best_a
    return True


cdef bint ends_c(Venues self, Py_ssize_t i, Py_ssize_t j, u128* alloc) noexcept:
    """All of the pair's amount to one of them: a venue's first units need not be concave
    (an input fee takes a whole unit of the first ones)."""
    cdef u128 t = alloc[i] + alloc[j], c, best_a = alloc[i]
    cdef i128 cur = self.value_c(i, alloc[i]) + self.value_c(j, alloc[j]), v
    for c in (0, t):
        if c != alloc[i]:
            v = self.value_c(i, c) + self.value_c(j, t - c)
            if v > cur:
                cur = v
                best_a = c
    if best_a == alloc[i]:
        return False
    alloc[i] = best_a
    alloc[j] = t - best_a
    return True


cdef inline i128 unit_c(Venues self, Py_ssize_t i, u128 a) noexcept:
    """|the value of UNIT_SPAN units of venue i| near a (0 when it cannot tell)."""
    cdef i128 lo, hi
    if a >= UNIT_SPAN:
        lo = self.value_c(i, a - UNIT_SPAN)
        hi = self.value_c(i, a)
    else:
        lo = self.value_c(i, a)
        hi = self.value_c(i, a + UNIT_SPAN)
    if lo == WORST or hi == WORST:
        return 0
    return hi - lo if hi >= lo else lo - hi


cdef void refine_c(Venues self, u128* alloc, double px) noexcept:
    cdef u128 d0 = 1
    cdef double units = 4.0 / px if px > 0 and px < INFINITY else 1.0
    cdef Py_ssize_t i, j
    cdef int _round
    cdef bint changed
    while d0 < (<u128>1) << 40 and <double>d0 < units:
        d0 <<= 1
    for _round in range(ROUNDS if self.nv > 2 else 1):
        changed = False
        for i in range(self.nv):
            for j in range(i + 1, self.nv):
                if alloc[i] + alloc[j] == 0:
                    continue
                if refine_pair_c(self, i, j, alloc, d0):
                    changed = True
        if not changed:
            break
    if self.nv > 2 and d0 <= 8:         # a pair the later pairs moved: its jagged top again
        for i in range(self.nv):
            for j in range(i + 1, self.nv):
                if alloc[i] + alloc[j]:
                    scan_c(self, i, j, alloc)


cdef void prune_c(Venues self, u128* alloc) noexcept:
    """Fewer legs at no cost: a venue's part moves whole to another venue when the
    total is not worse (ties of a few units leave dust legs otherwise)."""
    cdef Py_ssize_t i, j
    cdef i128 cur, v
    for i in range(self.nv):
        if alloc[i] == 0:
            continue
        for j in range(self.nv):
            if j == i or alloc[j] == 0:
                continue
            cur = self.value_c(i, alloc[i]) + self.value_c(j, alloc[j])
            v = self.value_c(j, alloc[i] + alloc[j])
            if v >= cur:
                alloc[j] += alloc[i]
                alloc[i] = 0
                break


cdef void favour_book_c(Venues self, u128* alloc) noexcept:
    """The book's level completed rather than a few units of a venue when that costs
    the taker at most 1 quote unit (the book's floor rounding would otherwise leave a
    maker a base unit or two to save a fraction of a unit)."""
    cdef Py_ssize_t k = self.np, lo = 0, hi, mid, j
    cdef u128 target, need
    cdef i128 cur, v
    if self.nb == 0 or alloc[k] == 0 or alloc[k] >= self.caps[k]:
        return
    hi = self.nb - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if self.bq[mid] >= alloc[k]:
            hi = mid
        else:
            lo = mid + 1
    target = self.bq[lo]
    need = target - alloc[k]
    for j in range(self.np):
        if alloc[j] < need or need == 0:
            continue
        cur = self.value_c(k, alloc[k]) + self.value_c(j, alloc[j])
        v = self.value_c(k, target) + self.value_c(j, alloc[j] - need)
        if v >= cur - 1:
            alloc[k] = target
            alloc[j] -= need
            return
