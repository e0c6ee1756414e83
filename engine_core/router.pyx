"""Best execution across venues: quote each pool alone, and split the order across pools
when that gives more (sell) or costs less (buy), moving amount between pairs of pools
until their marginal prices meet (bisection on the split; legs are exact integers).
"""

from engine_core.amm cimport OK, Pool, amount_arg, i128, py_u128, raise_code, u128

from engine_core.amm import InsufficientLiquidity

cdef enum:
    MAX_POOLS = 16
    PAIR_ROUNDS = 3   # coordinate-ascent rounds over pairs when there are 3+ pools

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
cdef inline i128 value_c(Pool p, bint sell, u128 amount) noexcept nogil:
    """What the trader gets from `amount` at p: quote out (sell) or minus quote in (buy)."""
    cdef u128 q = 0, f = 0
    cdef int rc
    if amount == 0:
        return 0
    if sell:
        rc = p.quote_sell_c(amount, &q, &f)
        return <i128>q if rc == OK else WORST
    rc = p.quote_buy_c(amount, &q, &f)
    return -<i128>q if rc == OK else WORST


cdef inline u128 capacity_c(Pool p, bint sell, u128 limit) noexcept nogil:
    return p.sell_capacity_c(limit) if sell else p.buy_capacity_c(limit)


cdef u128 split_pair_c(Pool a, Pool b, bint sell, u128 total, u128 cap_a,
                       u128 cap_b) noexcept nogil:
    """The amount for `a` (the rest to `b`) that maximises the trader's value of `total`:
    bisection on the sign of the marginal gain of moving a small step from b to a.
    Caller guarantees cap_a + cap_b >= total."""
    cdef u128 lo = total - cap_b if total > cap_b else 0
    cdef u128 hi = cap_a if cap_a < total else total
    cdef u128 h = total >> 16
    cdef u128 m, step
    cdef i128 gain, loss, v_lo, v_hi
    if h == 0:
        h = 1
    while hi - lo > h:
        m = lo + (hi - lo) // 2
        step = h if hi - m >= h else hi - m
        gain = value_c(a, sell, m + step) - value_c(a, sell, m)
        loss = value_c(b, sell, total - m) - value_c(b, sell, total - m - step)
        if gain > loss:
            lo = m
        else:
            hi = m
    v_lo = value_c(a, sell, lo) + value_c(b, sell, total - lo)
    v_hi = value_c(a, sell, hi) + value_c(b, sell, total - hi)
    return hi if v_hi > v_lo else lo


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


def best_route(pools, str side, amount, bint allow_split=True):
    """The best way to fill `amount` base units on `pools` ({venue: Pool}).

    sell: maximise the total quote out; buy: minimise the total quote in. Raises
    InsufficientLiquidity when no pool, nor all of them together, can fill `amount`."""
    cdef bint sell = _check_side(side)
    cdef u128 n = amount_arg(amount)
    cdef Py_ssize_t np = len(pools), i, j, _round, best = -1
    cdef Pool p
    cdef u128 caps[MAX_POOLS]
    cdef u128 alloc[MAX_POOLS]
    cdef u128 spots[MAX_POOLS]
    cdef i128 v, best_v = WORST
    cdef u128 t, cap_sum = 0, a_new, q = 0, f = 0, best_spot = 0, tq = 0, tf = 0
    cdef i128 v_old, v_new
    cdef int rc
    if n == 0:
        raise ValueError("amount must be > 0")
    if np == 0:
        raise InsufficientLiquidity("no venue for this market")
    if np > MAX_POOLS:
        raise ValueError(f"at most {MAX_POOLS} pools")
    venues = sorted(pools)
    cdef list plist = [<Pool?>pools[name] for name in venues]
    cdef Pool pi, pj
    for i in range(np):
        pi = <Pool>plist[i]
        spots[i] = pi.spot_x64_c()
        if i == 0 or (sell and spots[i] > best_spot) or (not sell and spots[i] < best_spot):
            best_spot = spots[i]
        caps[i] = capacity_c(pi, sell, n)
        cap_sum += caps[i]
        alloc[i] = 0
        if caps[i] >= n:
            v = value_c(pi, sell, n)
            if v > best_v:
                best_v = v
                best = i
    if best >= 0:
        alloc[best] = n
    elif cap_sum >= n and allow_split:
        t = n
        for i in range(np):
            alloc[i] = caps[i] if caps[i] < t else t
            t -= alloc[i]
    if allow_split and np > 1 and (best >= 0 or cap_sum >= n):
        for _round in range(PAIR_ROUNDS if np > 2 else 1):
            for i in range(np):
                pi = <Pool>plist[i]
                for j in range(i + 1, np):
                    pj = <Pool>plist[j]
                    t = alloc[i] + alloc[j]
                    if t == 0:
                        continue
                    a_new = split_pair_c(pi, pj, sell, t,
                                         caps[i] if caps[i] < t else t,
                                         caps[j] if caps[j] < t else t)
                    if a_new == alloc[i]:
                        continue
                    v_old = value_c(pi, sell, alloc[i]) + value_c(pj, sell, alloc[j])
                    v_new = value_c(pi, sell, a_new) + value_c(pj, sell, t - a_new)
                    if v_new > v_old:
                        alloc[i] = a_new
                        alloc[j] = t - a_new
    if best < 0 and not (allow_split and np > 1 and cap_sum >= n):
        raise InsufficientLiquidity(
            f"the venues cannot fill {amount} base units" if allow_split
            else f"no single venue can fill {amount} base units")
    legs = []
    for i in range(np):
        if alloc[i] == 0:
            continue
        p = <Pool>plist[i]
        rc = p.quote_sell_c(alloc[i], &q, &f) if sell else p.quote_buy_c(alloc[i], &q, &f)
        if rc != OK:
            raise_code(rc)
        tq += q
        tf += f
        legs.append(_leg(venues[i], sell, spots[i], alloc[i], q, f))
    return _route(side, sell, amount, legs, best_spot, n, tq, tf)


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
    for pool in pools.values():
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
