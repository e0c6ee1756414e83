"""Best execution across venues: the order split across pools where that gives more (sell)
or costs less (buy), at the exact integer level (engine_core/split.pyx); legs are the
pools' exact integer quotes.
"""

from libc.stdint cimport uint64_t

from engine_core.amm cimport OK, Pool, amount_arg, i128, py_u128, raise_code, u128
from engine_core.split cimport MAX_VENUES, Venues

from engine_core.amm import InsufficientLiquidity

cdef enum:
    MAX_POOLS = 16

cdef i128 WORST = -((<i128>1) << 120)   # value of an unfillable amount


cdef class Leg:
    """One venue's part of a route."""

    def __init__(self, str venue, amount, quote, fee, price_impact_bps=0):
        self.venue = venue
        self.amount = amount
        self.quote = quote
        self.fee = fee
        self.price_impact_bps = price_impact_bps

    def to_dict(self):
        return {"venue": self.venue, "amount": self.amount, "quote": self.quote,
                "fee": self.fee, "price_impact_bps": self.price_impact_bps}

    def __eq__(self, other):
        if not isinstance(other, Leg):
            return NotImplemented
        return self.to_dict() == (<Leg>other).to_dict()

    __hash__ = None

    def __repr__(self):
        return (f"Leg(venue={self.venue!r}, amount={self.amount}, quote={self.quote}, "
                f"fee={self.fee}, price_impact_bps={self.price_impact_bps})")


cdef class Route:
    """A plan (from best_route) or what happened (from execute_route)."""

    def __init__(self, str side, amount, legs, price_impact_bps=0):
        _check_side(side)
        self.side = side
        self.amount = amount
        self.legs = tuple(legs)
        self.quote_amount = sum([(<Leg?>leg).quote for leg in self.legs])
        self.fees = sum([(<Leg>leg).fee for leg in self.legs])
        self.price_impact_bps = price_impact_bps

    @property
    def split(self):
        return len(self.legs) > 1

    def to_dict(self):
        return {"side": self.side, "amount": self.amount, "quote_amount": self.quote_amount,
                "fees": self.fees, "price_impact_bps": self.price_impact_bps,
                "legs": [(<Leg>leg).to_dict() for leg in self.legs]}

    @staticmethod
    def from_dict(dict d):
        legs = [Leg(x["venue"], x["amount"], x["quote"], x["fee"], x.get("price_impact_bps", 0))
                for x in d["legs"]]
        return Route(d["side"], d["amount"], legs, d.get("price_impact_bps", 0))

    def __eq__(self, other):
        if not isinstance(other, Route):
            return NotImplemented
        return self.to_dict() == (<Route>other).to_dict()

    __hash__ = None

    def __repr__(self):
        return (f"Route(side={self.side!r}, amount={self.amount}, "
                f"quote_amount={self.quote_amount}, fees={self.fees}, "
                f"price_impact_bps={self.price_impact_bps}, legs={list(self.legs)!r})")


cdef inline bint _check_side(str side) except -1:
    if side == "sell":
        return True
    if side == "buy":
        return False
    raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")


# -- QUERIES --

cdef inline object _impact_bps(bint sell, u128 spot, u128 gross, u128 amount):
    """How far the average price before fees is from `spot`, in bps (>= 0, floor)."""
    cdef u128 avg, diff
    if amount == 0 or spot == 0:
        return 0
    if (gross >> 63) != 0 or (spot >> 100) != 0:
        pavg = (py_u128(gross) << 64) // py_u128(amount)
        pspot = py_u128(spot)
        pdiff = pspot - pavg if sell else pavg - pspot
        return max(0, pdiff * 10000 // pspot)
    avg = (gross << 64) // amount
    if sell:
        if avg >= spot:
            return 0
        diff = spot - avg
    else:
        if avg <= spot:
            return 0
        diff = avg - spot
    return py_u128(diff * 10000 // spot)


cdef Leg _leg(str venue, bint sell, u128 spot, u128 amount, u128 q, u128 f):
    cdef Leg leg = Leg.__new__(Leg)
    leg.venue = venue
    leg.amount = py_u128(amount)
    leg.quote = py_u128(q)
    leg.fee = py_u128(f)
    leg.price_impact_bps = _impact_bps(sell, spot, q + f if sell else q - f, amount)
    return leg


cdef Route _route(str side, bint sell, object amount, list legs, u128 best_spot,
                  u128 total_amount, u128 total_q, u128 total_f):
    cdef Route r = Route.__new__(Route)
    r.side = side
    r.amount = amount
    r.legs = tuple(legs)
    r.quote_amount = py_u128(total_q)
    r.fees = py_u128(total_f)
    r.price_impact_bps = _impact_bps(
        sell, best_spot, total_q + total_f if sell else total_q - total_f, total_amount)
    return r


cdef Route route_of_c(str side, list names, Venues v, u128* alloc, object amount):
    """The Route of an allocation over v's pools (names in v's pool order; the book's part,
    if any, is not a leg). Raises when a pool refuses its leg."""
    cdef bint sell = v.sell
    cdef Py_ssize_t i
    cdef Pool p
    cdef u128 q = 0, f = 0, tq = 0, tf = 0, ta = 0, best_spot = 0, spot
    cdef int rc
    legs = []
    for i in range(v.np):
        p = <Pool>v.pools[i]
        spot = p.spot_x64_c()
        if i == 0 or (sell and spot > best_spot) or (not sell and spot < best_spot):
            best_spot = spot
        if alloc[i] == 0:
            continue
        rc = p.quote_sell_c(alloc[i], &q, &f) if sell else p.quote_buy_c(alloc[i], &q, &f)
        if rc != OK:
            raise_code(rc)
        tq += q
        tf += f
        ta += alloc[i]
        legs.append(_leg(names[i], sell, spot, alloc[i], q, f))
    return _route(side, sell, amount if amount is not None else py_u128(ta), legs, best_spot,
                  ta, tq, tf)


def best_route(pools, str side, amount, bint allow_split=True):
    """The best way to fill `amount` base units on `pools` ({venue: Pool}).

    sell: maximise the total quote out; buy: minimise the total quote in (split.Venues:
    marginal prices equalised, then an exact integer refinement). Raises
    InsufficientLiquidity when no pool, nor all of them together, can fill `amount`."""
    _check_side(side)
    cdef u128 n = amount_arg(amount)
    cdef Py_ssize_t np = len(pools), i, best = -1
    cdef u128 alloc[MAX_VENUES]
    cdef i128 val, best_v = WORST
    if n == 0:
        raise ValueError("amount must be > 0")
    if np == 0:
        raise InsufficientLiquidity("no venue for this market")
    if np > MAX_POOLS:
        raise ValueError(f"at most {MAX_POOLS} pools")
    names = sorted(pools)
    cdef Venues v = Venues([pools[name] for name in names], side, need=amount)
    if allow_split:
        if v.allocate_c(n, alloc) != 0:
            raise InsufficientLiquidity(f"the venues cannot fill {amount} base units")
    else:
        for i in range(np):
            alloc[i] = 0
            val = v.value_c(i, n)
            if val > best_v:
                best_v = val
                best = i
        if best < 0:
            raise InsufficientLiquidity(f"no single venue can fill {amount} base units")
        alloc[best] = n
    return route_of_c(side, names, v, alloc, amount)


def execute_route(pools, Route route):
    """Apply each leg of `route` to its pool and return what happened.

    Atomic: the legs run on copies, and the pools change only when every leg succeeded."""
    cdef bint sell = _check_side(route.side)
    cdef dict trial = {}
    cdef dict spots = {}
    cdef Pool p, orig
    cdef Leg leg
    cdef u128 q = 0, f = 0, a, tq = 0, tf = 0, ta = 0, best_spot = 0
    cdef int rc
    cdef bint first = True
    for venue, pool in pools.items():
        spot = (<Pool?>pool).spot_x64_c()
        if first or (sell and spot > best_spot) or (not sell and spot < best_spot):
            best_spot = spot
        first = False
    legs = []
    for leg in route.legs:
        if leg.venue not in pools:
            raise KeyError(f"route leg on unknown venue {leg.venue!r}")
        p = trial.get(leg.venue)
        if p is None:
            orig = <Pool?>pools[leg.venue]
            p = orig.copy_c()
            trial[leg.venue] = p
            spots[leg.venue] = orig.spot_x64_c()
        a = amount_arg(leg.amount)
        rc = p.sell_c(a, &q, &f) if sell else p.buy_c(a, &q, &f)
        if rc != OK:
            raise_code(rc)
        tq += q
        tf += f
        ta += a
        legs.append(_leg(leg.venue, sell, <u128>spots[leg.venue], a, q, f))
    for venue, p in trial.items():
        (<Pool>pools[venue]).assign_c(p)
    return _route(route.side, sell, route.amount, legs, best_spot, ta, tq, tf)
