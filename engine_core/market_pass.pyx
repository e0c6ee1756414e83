"""A pass of one market's market orders in one call: each order planned, checked and landed
in turn on the pools as the orders before it left them, with the results of the worker's
per-order path (service/worker/planner.py: plan_order, executable, swap_on_copies) and no
Python object per order but its result and its split's Venues.

Planning is plan_fill's for a market order with no makers (engine_core/planner.pyx): the
split of split.Venues over the pools as they are now, its Route from router.route_of_c. It
fails before anything is sent when the venues cannot fill the amount
("insufficient_liquidity") or a leg would move nothing of one token ("invalid_order").
The bound is fills.slippage_bound around the plan's quote.

Landing is execute_route's on copies: the legs run on the pass's own copy of each pool
(Pool.copy_c once per pass, then assign_c of the pool as it is now, sell_c / buy_c), and
the copies are assigned to the pools themselves (assign_c) only when every leg went
through ("insufficient_liquidity" otherwise) within the bound (fills.within_slippage;
"slippage_exceeded" otherwise). Nothing moves between a plan and its landing here, so each
leg executes as it was quoted, and the Route execute_route would give is the plan's own
(same legs, amounts, spots before): the plan is returned as what happened. When a leg does
not execute as quoted, execute_route (on copies) gives it.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc

from engine_core.amm cimport OK, Pool, py_u128, u128
from engine_core.router cimport Leg, Route, route_of_c
from engine_core.split cimport MAX_VENUES, Venues

from engine_core.fills import slippage_bound, within_slippage
from engine_core.router import execute_route

cdef str SELL = "sell"
cdef str BUY = "buy"
cdef tuple NO_PLAN = (None, None, None, "insufficient_liquidity")
cdef tuple INVALID = (None, None, None, "invalid_order")


cdef struct Order:
    u128 amount
    int bps
    bint sell


cdef int _read_orders(list orders, Order* out) except -1:
    """Every order checked (as plan_fill and slippage_bound check theirs) before the first
    one moves a pool."""
    cdef Py_ssize_t k
    for k in range(len(orders)):
        side, amount, bps = orders[k]
        if side not in ("buy", "sell"):
            raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
        if amount < 1:
            raise ValueError(f"amount must be >= 1, got {amount}")
        if isinstance(amount, float):
            raise TypeError("amounts are integer base units, not floats")
        slippage_bound(side, 0, bps)    # refuses what it would refuse at the order's bound
        out[k].amount = amount
        out[k].bps = bps
        out[k].sell = side == SELL
    return 0


cdef int _run_legs(list plist, Py_ssize_t np, bint sell, u128* alloc, list scratch,
                   u128* q, u128* f) except -1:
    """Each allocated leg run on a copy of its pool (scratch[i], the pass's copy, assigned
    the pool as it is now; the pools untouched): OK, or the first refusal's code."""
    cdef Py_ssize_t i
    cdef Pool c
    cdef int rc
    for i in range(np):
        if alloc[i] == 0:
            continue
        c = <Pool>scratch[i]
        c.assign_c(<Pool>plist[i])
        rc = c.sell_c(alloc[i], &q[i], &f[i]) if sell else c.buy_c(alloc[i], &q[i], &f[i])
        if rc != OK:
            return rc
    return OK


cdef bint _as_quoted(Route route, Py_ssize_t np, u128* alloc, u128* q, u128* f):
    """True when every leg executed as the plan quoted it (legs in pool order)."""
    cdef Py_ssize_t i, j = 0
    cdef Leg leg
    for i in range(np):
        if alloc[i] == 0:
            continue
        leg = <Leg>route.legs[j]
        j += 1
        if leg.quote != py_u128(q[i]) or leg.fee != py_u128(f[i]):
            return False
    return True


cdef object _pass(pools, list orders, int base_decimals, Order* od):
    cdef list names = sorted(pools)
    cdef list plist = [pools[name] for name in names]
    cdef Py_ssize_t np = len(plist), k, i
    cdef list scratch = [(<Pool?>p).copy_c() for p in plist]  # one copy per venue, reused
    cdef list out = []
    cdef u128 alloc[MAX_VENUES]
    cdef u128 q[MAX_VENUES]
    cdef u128 f[MAX_VENUES]
    cdef Venues v
    cdef Route route
    cdef Leg leg
    cdef Order o
    cdef str side
    cdef bint planned
    for k in range(len(orders)):
        o = od[k]
        side = SELL if o.sell else BUY
        # -- plan (plan_fill, executable) --
        v = Venues(plist, side, (), base_decimals, need=py_u128(o.amount))
        planned = v.allocate_c(o.amount, alloc) == 0
        if planned:
            planned = False
            for i in range(v.np):
                if alloc[i]:
                    planned = True
                    break
        if not planned:
            out.append(NO_PLAN)
            continue
        route = route_of_c(side, names, v, alloc, None)
        for leg in route.legs:
            if leg.amount <= 0 or leg.quote <= 0:
                route = None
                break
        if route is None:
            out.append(INVALID)
            continue
        bound = slippage_bound(side, route.quote_amount, o.bps)
        # -- land (swap_on_copies) --
        if _run_legs(plist, np, o.sell, alloc, scratch, q, f) != OK:
            out.append((route, bound, None, "insufficient_liquidity"))
            continue
        if _as_quoted(route, np, alloc, q, f):
            actual = route
        else:
            trial = {name: (<Pool>p).copy_c() for name, p in zip(names, plist)}
            actual = execute_route(trial, route)
            for i in range(np):
                if alloc[i]:
                    (<Pool>scratch[i]).assign_c(<Pool>trial[names[i]])
        if not within_slippage(side, (<Route>actual).quote_amount, bound):
            out.append((route, bound, None, "slippage_exceeded"))
            continue
        for i in range(np):
            if alloc[i]:
                (<Pool>plist[i]).assign_c(<Pool>scratch[i])
        out.append((route, bound, actual, None))
    return out


def fill_market_orders(pools, list orders, int base_decimals):
    """One result per order of `orders` ([(side, amount base units, slippage_bps)]), in
    order, each planned and landed on `pools` ({venue: Pool} of one market) as the orders
    before it left them; `pools` is moved in place (each landed order's legs on the pool
    objects themselves, all or none of them).

    A result is (route, bound, actual, reason):
    (None, None, None, reason): not sent ("insufficient_liquidity", "invalid_order");
    (route, bound, None, reason): sent, did not land ("insufficient_liquidity",
    "slippage_exceeded"), the pools unchanged;
    (route, bound, actual, None): landed; `actual` is what execute_route gives (the plan
    itself when every leg executed as quoted).
    Every order is checked before the first one runs (ValueError / TypeError)."""
    cdef Order* od = <Order*>PyMem_Malloc((len(orders) or 1) * sizeof(Order))
    if od == NULL:
        raise MemoryError()
    try:
        _read_orders(orders, od)
        return _pass(pools, orders, base_decimals, od)
    finally:
        PyMem_Free(od)
