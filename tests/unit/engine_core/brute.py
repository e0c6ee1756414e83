"""Brute-force references for the router and the planner: plain Python over the pools'
exact integer quotes, no search cleverness to share a bug with.

value(pool, side, a): what the trader gets from a base units (sell: quote out; buy: minus
quote in), None when the pool cannot take a.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine_core.amm import InsufficientLiquidity, Pool

Value = Callable[[int], int | None]


def pool_value(pool: Pool, side: str) -> Value:
    def v(a: int) -> int | None:
        if a == 0:
            return 0
        try:
            if side == "sell":
                return int(pool.quote_sell(a)[0])
            return -int(pool.quote_buy(a)[0])
        except InsufficientLiquidity:
            return None

    return v


def book_value(makers: Sequence[tuple[int, int]], side: str, base_decimals: int) -> Value:
    """Taking a base units from makers [(price_raw, qty)] best first, each priced
    qty * price // 10**decimals."""
    scale = 10**base_decimals
    total = sum(q for _, q in makers)

    def v(a: int) -> int | None:
        if a > total:
            return None
        got, left = 0, a
        for price, qty in makers:
            take = min(qty, left)
            got += take * price // scale
            left -= take
            if not left:
                break
        return got if side == "sell" else -got

    return v


def best_pair(va: Value, vb: Value, n: int) -> tuple[int, int]:
    """(best total, amount to a) over every split of n between two venues."""
    best, best_x = None, -1
    for x in range(n + 1):
        a = va(x)
        if a is None:
            break
        b = vb(n - x)
        if b is None:
            continue
        if best is None or a + b > best:
            best, best_x = a + b, x
    if best is None:
        raise ValueError("no split fills n")
    return best, best_x


def best_triple(va: Value, vb: Value, vc: Value, n: int) -> int:
    """The best total over every split of n among three venues (O(n^2): small n only)."""
    best = None
    cache_c = [vc(z) for z in range(n + 1)]
    for x in range(n + 1):
        a = va(x)
        if a is None:
            break
        for y in range(n - x + 1):
            b = vb(y)
            if b is None:
                break
            c = cache_c[n - x - y]
            if c is None:
                continue
            if best is None or a + b + c > best:
                best = a + b + c
    if best is None:
        raise ValueError("no split fills n")
    return best
