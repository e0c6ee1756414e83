"""One plan for the taker over the internal book and every venue (pure, integers).

The crossing makers (other clients' resting orders, best first, each at its own price and
no fee) are one more venue beside the pools: the split (engine_core/split.pyx) gives each
venue the amount where its marginal price meets the others', so a maker is taken only
where its price is at least as good as what the venues pay at that size, never where the
venues pay more, and the fill is split between book and pools at the better price.
"""

from engine_core.amm cimport u128
from engine_core.router cimport route_of_c
from engine_core.split cimport MAX_VENUES, Venues

from engine_core.limits import max_fill_within_limit, within_limit


def plan_fill(pools, str side, amount, makers, limit_price_raw, int base_decimals):
    """(book_qty, route): how much of `makers` ([(price_raw, qty)] best first, already
    within the order's price and not the taker's own) and which venue route (None: none)
    fill `amount` base units best for the taker.

    limit_price_raw None (a market order): the whole amount, or, when the venues and the
    makers together cannot fill it, the makers alone (the caller decides what that means).
    With a limit: the largest amount within it (makers all are; the venues' part by its
    average price), split at the best price."""
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    if amount < 1:
        raise ValueError(f"amount must be >= 1, got {amount}")
    makers = [(p, q) for p, q in makers if q > 0]
    cdef object m_total = sum([q for _, q in makers])
    names = sorted(pools)
    plist = [pools[name] for name in names]
    cdef Venues v
    cdef u128 alloc[MAX_VENUES]
    cdef Py_ssize_t i
    a_route = None
    if limit_price_raw is None:
        total = amount
    else:
        a_route = (max_fill_within_limit(pools, side, amount, limit_price_raw, base_decimals)
                   if pools else None)
        total = min(amount, m_total + (a_route.amount if a_route is not None else 0))
        if not makers:
            return (0, a_route)
    if total == 0:
        return (0, None)
    try:
        v = Venues(plist, side, makers, base_decimals, need=total)
    except ValueError:             # makers past 64 bits: the book first, as they come
        return _book_first(pools, side, amount, m_total, limit_price_raw, base_decimals)
    if v.allocate_c(total, alloc) != 0:
        return (min(m_total, amount), None) if makers else (0, None)
    book_qty = int(alloc[v.np]) if makers else 0
    route = None
    for i in range(v.np):
        if alloc[i]:
            route = route_of_c(side, names, v, alloc, None)
            break
    if (route is not None and limit_price_raw is not None
            and not within_limit(route, limit_price_raw, base_decimals)):
        return _book_first(pools, side, amount, m_total, limit_price_raw, base_decimals)
    return (book_qty, route)


def _book_first(pools, str side, amount, m_total, limit, int decimals):
    """Every maker first, then the venues for the rest (within the limit)."""
    book_qty = min(m_total, amount)
    rest = amount - book_qty
    if rest == 0 or not pools:
        return (book_qty, None)
    if limit is None:
        return (book_qty, None)
    return (book_qty, max_fill_within_limit(pools, side, rest, limit, decimals))


def take_makers(crossing, qty):
    """The first `qty` base units of `crossing` ([(handle, price_raw, qty)] best first), as
    the same triples (the last one cut)."""
    out = []
    for handle, price, q in crossing:
        if qty <= 0:
            break
        take = q if q < qty else qty
        out.append((handle, price, take))
        qty -= take
    return out
