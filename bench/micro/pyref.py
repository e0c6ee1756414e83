"""Plain-Python twins of engine_core's hot functions, same algorithms and same integers,
for the benchmarks (and as a cross-check in tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

BPS = 10_000
WORST = -(1 << 120)


class InsufficientLiquidity(ValueError):
    pass


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class PyCpmmPool:
    kind = "cpmm"

    def __init__(
        self, base_reserve: int, quote_reserve: int, fee_bps: int = 25, fee_mode: str = "input"
    ) -> None:
        self.x = base_reserve
        self.y = quote_reserve
        self.fee_bps = fee_bps
        self.fee_mode = fee_mode  # as CpmmPool: "input" (the default) or "output"

    def quote_sell(self, base_in: int) -> tuple[int, int]:
        if base_in == 0:
            return (0, 0)
        gross = self.y * base_in // (self.x + base_in)
        if self.fee_mode == "output":
            fee = _ceil_div(gross * self.fee_bps, BPS)
            return (gross - fee, fee)
        net = base_in - _ceil_div(base_in * self.fee_bps, BPS)  # swap_base_input
        out = self.y * net // (self.x + net)
        return (out, gross - out)

    def quote_buy(self, base_out: int) -> tuple[int, int]:
        if base_out == 0:
            return (0, 0)
        if base_out >= self.x:
            raise InsufficientLiquidity("not enough liquidity")
        net = _ceil_div(self.y * base_out, self.x - base_out)
        cost = _ceil_div(net * BPS, BPS - self.fee_bps)
        return (cost, cost - net)

    def sell(self, base_in: int) -> tuple[int, int]:
        out, fee = self.quote_sell(base_in)
        self.x += base_in
        self.y -= out
        return (out, fee)

    def buy(self, base_out: int) -> tuple[int, int]:
        cost, fee = self.quote_buy(base_out)
        self.x -= base_out
        self.y += cost
        return (cost, fee)

    def spot_price_x64(self) -> int:
        return (self.y << 64) // self.x

    def sell_capacity(self, limit: int) -> int:
        return min(2**64 - 1 - self.x, limit)

    def buy_capacity(self, limit: int) -> int:
        return min(self.x - 1, limit)

    def copy(self) -> PyCpmmPool:
        return PyCpmmPool(self.x, self.y, self.fee_bps, self.fee_mode)


@dataclass
class PyLeg:
    venue: str
    amount: int
    quote: int
    fee: int
    price_impact_bps: int = 0


@dataclass
class PyRoute:
    side: str
    amount: int
    legs: list[PyLeg] = field(default_factory=list)
    quote_amount: int = 0
    fees: int = 0
    price_impact_bps: int = 0


def _value(pool: PyCpmmPool, sell: bool, amount: int) -> int:
    if amount == 0:
        return 0
    try:
        return pool.quote_sell(amount)[0] if sell else -pool.quote_buy(amount)[0]
    except InsufficientLiquidity:
        return WORST


def _split_pair(
    a: PyCpmmPool, b: PyCpmmPool, sell: bool, total: int, cap_a: int, cap_b: int
) -> int:
    lo = total - cap_b if total > cap_b else 0
    hi = min(cap_a, total)
    h = max(total >> 16, 1)
    while hi - lo > h:
        m = lo + (hi - lo) // 2
        step = h if hi - m >= h else hi - m
        gain = _value(a, sell, m + step) - _value(a, sell, m)
        loss = _value(b, sell, total - m) - _value(b, sell, total - m - step)
        if gain > loss:
            lo = m
        else:
            hi = m
    v_lo = _value(a, sell, lo) + _value(b, sell, total - lo)
    v_hi = _value(a, sell, hi) + _value(b, sell, total - hi)
    return hi if v_hi > v_lo else lo


def _impact(sell: bool, spot: int, gross: int, amount: int) -> int:
    if amount == 0 or spot == 0:
        return 0
    avg = (gross << 64) // amount
    diff = spot - avg if sell else avg - spot
    return max(0, diff * 10_000 // spot)


def py_best_route(
    pools: dict[str, PyCpmmPool], side: str, amount: int, allow_split: bool = True
) -> PyRoute:
    sell = side == "sell"
    venues = sorted(pools)
    ps = [pools[v] for v in venues]
    spots = [p.spot_price_x64() for p in ps]
    best_spot = max(spots) if sell else min(spots)
    caps = [p.sell_capacity(amount) if sell else p.buy_capacity(amount) for p in ps]
    alloc = [0] * len(ps)
    best, best_v = -1, WORST
    for i, p in enumerate(ps):
        if caps[i] >= amount:
            v = _value(p, sell, amount)
            if v > best_v:
                best, best_v = i, v
    if best >= 0:
        alloc[best] = amount
    elif allow_split and sum(caps) >= amount:
        t = amount
        for i in range(len(ps)):
            alloc[i] = min(caps[i], t)
            t -= alloc[i]
    else:
        raise InsufficientLiquidity("cannot fill")
    if allow_split and len(ps) > 1:
        for _ in range(3 if len(ps) > 2 else 1):
            for i in range(len(ps)):
                for j in range(i + 1, len(ps)):
                    t = alloc[i] + alloc[j]
                    if t == 0:
                        continue
                    a_new = _split_pair(ps[i], ps[j], sell, t, min(caps[i], t), min(caps[j], t))
                    if a_new == alloc[i]:
                        continue
                    v_old = _value(ps[i], sell, alloc[i]) + _value(ps[j], sell, alloc[j])
                    v_new = _value(ps[i], sell, a_new) + _value(ps[j], sell, t - a_new)
                    if v_new > v_old:
                        alloc[i], alloc[j] = a_new, t - a_new
    route = PyRoute(side, amount)
    for i, p in enumerate(ps):
        if alloc[i]:
            q, f = p.quote_sell(alloc[i]) if sell else p.quote_buy(alloc[i])
            gross = q + f if sell else q - f
            route.legs.append(
                PyLeg(venues[i], alloc[i], q, f, _impact(sell, spots[i], gross, alloc[i]))
            )
            route.quote_amount += q
            route.fees += f
    gross = route.quote_amount + route.fees if sell else route.quote_amount - route.fees
    route.price_impact_bps = _impact(sell, best_spot, gross, amount)
    return route


def py_execute_route(pools: dict[str, PyCpmmPool], route: PyRoute) -> PyRoute:
    sell = route.side == "sell"
    trial = {leg.venue: pools[leg.venue].copy() for leg in route.legs}
    done = PyRoute(route.side, route.amount)
    for leg in route.legs:
        p = trial[leg.venue]
        q, f = p.sell(leg.amount) if sell else p.buy(leg.amount)
        done.legs.append(PyLeg(leg.venue, leg.amount, q, f))
        done.quote_amount += q
        done.fees += f
    for venue, p in trial.items():
        pools[venue].x, pools[venue].y = p.x, p.y
    return done
