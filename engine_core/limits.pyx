"""Limit prices against the venues: the best marginal prices (to find the resting orders a
pool change makes executable), and the largest amount whose best route respects a limit.

A price `price_raw` is an int: quote base units per ONE WHOLE base token (10**base_decimals
base units). A route of `a` base units respects the limit L when its average price does:
    buy:  route.quote_amount * 10**base_decimals <= L * a   (quote paid, fee included)
    sell: route.quote_amount * 10**base_decimals >= L * a   (quote received, fee deducted)

Why bisection is exact here. In real arithmetic every pool's cost curve is convex (x*y=k;
DLMM bins at rising prices with fees that grow with the bins crossed), and the best route's
cost is their infimal convolution, convex too; so the average price of a buy rises with a
(a sell's falls) and "within the limit" holds on an interval [0, A]. The integer pools round
every swap against the trader by a few quote units, which only matters for dust: an amount
too small to carry the rounding fails the test even under a generous limit. So the search
first halves down from `amount` to the first amount that fits (log2(amount / A) quotes), then
bisects between it and the last one that did not (log2(A) quotes): about log2(amount) + 2
calls of best_route in all, each a pure quote (nothing is executed). The result `a` always
carries the certificate fits(a) and (a == amount or not fits(a + 1)); it is the largest
amount that fits up to the rounding band of a few quote units around A. Inside that band the
integer test can flip back and forth (1000 SOL / 150000 USDC, fee 25 bps, buy limit 160:
60_150_375_827 fits, one more does not, 60_150_375_875 fits again; the band is about
2 * 10**base_decimals * (x - A) / (L * A) ~ 195 base units there, 2e-7 SOL).
Within 64 bits the search runs on the marginal price instead (sizing.pyx).
"""

from engine_core.amm cimport Pool, amount_arg, u128
from engine_core.sizing cimport sized_route_c
from engine_core.split cimport MAX_VENUES

from engine_core.amm import InsufficientLiquidity
from engine_core.router import best_route

Q64 = 1 << 64
BPS = 10_000
DLMM_FEE_PRECISION = 10**9
U64_MAX = (1 << 64) - 1
cdef int EDGE_JUMPS = 64   # units_more_c: steps' edges jumped to, at most
cdef int EDGE_TRIES = 4    # units_more_c: edge amounts tried per jump
cdef u128 Q64_C = (<u128>1) << 64


cdef inline bint side_is_buy(str side) except -1:
    if side == "buy":
        return True
    if side == "sell":
        return False
    raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")


cdef inline int check_price(object v, str what) except -1:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{what} must be an int price_raw, got {type(v).__name__}")
    if v < 0:
        raise ValueError(f"{what} must be >= 0, got {v}")
    return 0


cdef inline object ceil_div(object a, object b):
    return -((-a) // b)


# -- marginal prices --
cdef tuple fee_fraction(object pool):
    """(num, den): the fee rate a swap starting now pays in the first unit, or None.
    A pool's `fee_rate()` (1e9 precision, DLMM: base + variable fee of the active bin) wins
    over its `fee_bps` (the base fee only)."""
    fee_rate = getattr(pool, "fee_rate", None)
    if callable(fee_rate):
        return (int(fee_rate()), DLMM_FEE_PRECISION)
    fee_bps = getattr(pool, "fee_bps", None)
    if fee_bps is not None:
        return (int(fee_bps), BPS)
    return None


cdef tuple pool_quotes(object pool, object scale):
    """(ask, bid) of one pool as price_raw: ceil / floor of the marginal prices, fee included.
    None for a side the pool cannot trade."""
    cdef object ask = None, bid = None
    if getattr(pool, "kind", None) == "cpmm":
        # exact, from the reserves: the first unit bought costs y/x / (1 - fee); sold, it
        # brings y/x * (1 - fee) (CpmmPool rounds each swap against the trader on top).
        x = pool.base_reserve
        y = pool.quote_reserve
        fee = pool.fee_bps
        return (ceil_div(y * scale * BPS, x * (BPS - fee)), y * scale * (BPS - fee) // (x * BPS))
    can_buy = getattr(pool, "buy_capacity", None)
    can_sell = getattr(pool, "sell_capacity", None)
    buyable = can_buy is None or can_buy(1) > 0
    sellable = can_sell is None or can_sell(1) > 0
    frac = fee_fraction(pool)
    if frac is not None:
        # the active price (Q64.64 quote base units per base base unit), with the fee
        num, den = frac
        p = pool.spot_price_x64()
        if buyable and num < den:
            ask = ceil_div(p * scale * den, (den - num) * Q64)
        if sellable:
            bid = p * scale * (den - num) // (den * Q64)
        return (ask, bid)
    # no fee model: the average price of one whole token (an upper bound of the ask and a
    # lower bound of the bid: it includes the price impact of that token)
    if buyable:
        try:
            ask = pool.quote_buy(scale)[0]
        except InsufficientLiquidity:
            pass
    if sellable:
        try:
            bid = pool.quote_sell(scale)[0]
        except InsufficientLiquidity:
            pass
    return (ask, bid)


def venue_quotes(pools, int base_decimals):
    """(best_ask_raw, best_bid_raw): the marginal price, fee included, of buying / selling an
    infinitesimal amount on the best venue, as price_raw; the ask rounded up, the bid down.
    (None, None) without pools; None for a side no pool can trade.

    Method, per pool:
    - cpmm: exact, from the reserves and fee_bps.
    - any pool with spot_price_x64() and a fee (`fee_rate()` in 1e9 precision, else
      `fee_bps`): the spot with the fee. For a DLMM pool the spot is the active bin's price,
      exactly what the pool's arithmetic uses, and `fee_rate()` its fee for a swap starting
      now. When the active bin has run out of the side a swap takes, the first unit trades one
      bin further, so the price reported is up to one bin step too good: a resting order may
      be reported executable and then not fill (max_fill_within_limit decides).
    - otherwise: the quote of one whole token each way (includes that token's impact).

    Because every swap costs at least its marginal price, a resting buy with an integer limit L
    can fill at all only if L >= ceil(marginal ask) (a sell only if L <= floor(marginal bid)):
    Book.executable(ask, bid) with these values misses no order that can fill.
    """
    if base_decimals < 0:
        raise ValueError(f"base_decimals must be >= 0, got {base_decimals}")
    scale = 10 ** <object>base_decimals   # a Python int (a C int power would be a double)
    best_ask = None
    best_bid = None
    for venue in pools:
        ask, bid = pool_quotes(pools[venue], scale)
        if ask is not None and (best_ask is None or ask < best_ask):
            best_ask = ask
        if bid is not None and (best_bid is None or bid > best_bid):
            best_bid = bid
    return (best_ask, best_bid)


# -- limits --
def within_limit(route, object limit_price_raw, int base_decimals):
    """True when the route's average price respects the limit (None: no limit)."""
    if limit_price_raw is None:
        return True
    lhs = route.quote_amount * 10 ** <object>base_decimals
    rhs = limit_price_raw * route.amount
    return lhs <= rhs if side_is_buy(route.side) else lhs >= rhs


cdef class _Fits:
    """The predicate the search runs on: the best route of `a`, when it respects the limit."""

    cdef object pools
    cdef str side
    cdef bint buy
    cdef object limit
    cdef object scale

    def __init__(self, pools, str side, object limit, object scale):
        self.pools = pools
        self.side = side
        self.buy = side_is_buy(side)
        self.limit = limit
        self.scale = scale

    cdef object route(self, object a):
        try:
            r = best_route(self.pools, self.side, a)
        except InsufficientLiquidity:
            return None
        if self.limit is None:
            return r
        lhs = r.quote_amount * self.scale
        rhs = self.limit * a
        if (lhs <= rhs) if self.buy else (lhs >= rhs):
            return r
        return None


cdef object search_c(_Fits fits, object amount, object hint):
    """The route of the largest a <= amount that fits, by halving then bisection on a (the
    general path: limits of 2**64 and more, amounts past 64 bits), or None."""
    cdef object r = fits.route(amount)
    if r is not None:
        return r
    lo = 0
    hi = amount            # fits(hi) is False
    lo_route = None
    if hint is not None and 0 < hint < amount:
        r = fits.route(hint)
        if r is not None:
            lo, lo_route = hint, r
        else:
            hi = hint
    if lo_route is None:
        a = hi // 2
        while a >= 1:
            r = fits.route(a)
            if r is not None:
                lo, lo_route = a, r
                break
            hi = a
            a = hi // 2
        if lo_route is None:
            return None
    while hi - lo > 1:     # invariant: fits(lo), not fits(hi)
        mid = lo + (hi - lo) // 2
        r = fits.route(mid)
        if r is not None:
            lo, lo_route = mid, r
        else:
            hi = mid
    return lo_route


cdef object capacity_hint(pools, bint buy, object amount):
    """What the venues together can take (a first guess when there is no limit)."""
    total = 0
    amount = min(amount, U64_MAX)     # what a pool's capacity query accepts
    for venue in pools:
        cap = getattr(pools[venue], "buy_capacity" if buy else "sell_capacity", None)
        if cap is None:
            return None
        total += cap(amount)
    return total


cdef object check_args(pools, str side, object amount, object limit, int base_decimals):
    side_is_buy(side)
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amount must be an int of base units, got {type(amount).__name__}")
    if amount < 1:
        raise ValueError(f"amount must be >= 1, got {amount}")
    if limit is not None:
        check_price(limit, "limit_price_raw")
    if base_decimals < 0:
        raise ValueError(f"base_decimals must be >= 0, got {base_decimals}")
    return 10 ** <object>base_decimals


def max_fill_within_limit(pools, str side, object amount, object limit_price_raw,
                          int base_decimals):
    """The best route (router.best_route) of the largest a <= amount whose average price
    respects `limit_price_raw` (None: no limit, so the largest amount the venues can fill),
    or None when no a >= 1 does. Exact bisection on a monotone predicate, O(log amount)
    quotes; see the module doc. Input fees' steps can make the best route jump from a split
    to one venue, and then the amounts that fit are not one interval: one venue alone may
    fit further than the search over all of them reaches (whatever fits on one venue, its
    best route fits too), so with a limit and several venues each venue alone is sized too
    (in the 64-bit path only where a leg on another venue has such steps: sizing.pyx)."""
    scale = check_args(pools, side, amount, limit_price_raw, base_decimals)
    if not pools:
        return None
    if (limit_price_raw is not None and limit_price_raw < U64_MAX and amount < U64_MAX
            and scale < 2**62 and len(pools) < MAX_VENUES):
        return sized_route_c(pools, side, amount_arg(amount), amount_arg(limit_price_raw),
                             amount_arg(scale))
    r = _max_fill(pools, side, amount, limit_price_raw, scale)
    if limit_price_raw is None or len(pools) < 2:
        return r
    best = r.amount if r is not None else 0
    for venue, pool in pools.items():
        one = _max_fill({venue: pool}, side, amount, limit_price_raw, scale)
        if one is not None and one.amount > best:
            best = one.amount
    if best == 0 or (r is not None and best == r.amount):
        return r
    cdef _Fits fits = _Fits(pools, side, limit_price_raw, scale)
    return units_more_c(fits, amount, fits.route(best))


cdef object _max_fill(pools, str side, object amount, object limit_price_raw, object scale):
    """The general path (limits of 2**64 and more, amounts past 64 bits; no limit)."""
    cdef _Fits fits = _Fits(pools, side, limit_price_raw, scale)
    hint = None
    if limit_price_raw is None:
        hint = capacity_hint(pools, side == "buy", amount)
    return units_more_c(fits, amount, search_c(fits, amount, hint))


cdef object units_more_c(_Fits fits, object amount, object r):
    """The integer rounding of the quotes makes the average price jitter around the limit,
    and a venue's steps (an input fee's, a DLMM bin's) make it fall and rise again, so
    amounts past the first one that does not fit may fit again and the search can stop
    short. From its result: gallop up while the next unit fits (gallop_c); then try the
    amounts that put one venue at one of its next steps' edges (the rest as in the route),
    smallest first, and gallop on from the first that fits (also when the search found
    nothing: a venue's first step may fit alone); one quote when nothing more fits and no
    venue has a step ahead."""
    cdef int _jump
    if fits.limit is None:
        return r
    for _jump in range(EDGE_JUMPS):
        if r is not None:
            r = gallop_c(fits, amount, r)
            if r.amount >= amount:
                return r
        nxt = None
        for a in edge_amounts_c(fits, amount, r):
            nxt = fits.route(a)
            if nxt is not None:
                break
        if nxt is None:
            return r
        r = nxt
    return r


cdef list edge_amounts_c(_Fits fits, object amount, object r):
    """Amounts above r.amount (<= amount) that move one venue of the route (None: of no
    route) to one of its next step edges (Pool.breaks_c), the other legs as they are; the
    EDGE_TRIES smallest. Only venues where a base unit is worth a quote unit or more: below,
    a step costs less than the rounding, whose luck the search does not chase."""
    cdef u128 cand[8]
    cdef int k, m
    cdef Pool p
    cdef dict legs = {leg.venue: leg.amount for leg in r.legs} if r is not None else {}
    base = r.amount if r is not None else 0
    out = set()
    for venue, pool in fits.pools.items():
        if not isinstance(pool, Pool):
            continue
        p = <Pool>pool
        if p.spot_x64_c() < Q64_C:
            continue                    # a step there is worth under a quote unit: rounding
        have = legs.get(venue, 0)
        m = p.breaks_c(not fits.buy, amount_arg(have if have else 1), cand)
        for k in range(m):
            c = int(cand[k])
            a = base - have + c
            if c > have and base < a <= amount:
                out.add(a)
    return sorted(out)[:EDGE_TRIES]


cdef object gallop_c(_Fits fits, object amount, object r):
    """While the next unit fits, gallop up (1, 2, 4, ... units) and bisect back to the last
    amount that fits."""
    while r.amount < amount:
        nxt = fits.route(r.amount + 1)
        if nxt is None:
            return r
        r = nxt
        step = 2
        lo = r.amount
        hi = None
        while lo + step <= amount:
            probe = fits.route(lo + step)
            if probe is None:
                hi = lo + step
                break
            r, lo = probe, lo + step
            step *= 2
        if hi is None:
            hi = amount + 1
        while hi - lo > 1:  # fits(lo), not (known to) fit hi
            mid = lo + (hi - lo) // 2
            probe = fits.route(mid)
            if probe is None:
                hi = mid
            else:
                r, lo = probe, mid
    return r


def fok_fillable(pools, str side, object amount, object limit_price_raw, int base_decimals):
    """The best route of the whole amount when it respects the limit, else None."""
    scale = check_args(pools, side, amount, limit_price_raw, base_decimals)
    if not pools:
        return None
    return _Fits(pools, side, limit_price_raw, scale).route(amount)
