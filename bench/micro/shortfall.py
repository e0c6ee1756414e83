"""The planner against a brute-force reference, on random pools: the worst shortfall (quote
units, and bps of the reference) per size band, for 2 and 3 venues, with and without a
crossing internal book; and the limit sizing's misses.

    python -m bench.micro.shortfall [--seeds N] [--mode input|output]

Reference: for an amount n up to FULL every integer split of each pair of venues (the other
venues' parts held at the planner's); above, a grid of GRID splits and every split within
WINDOW units of the best grid points and of the planner's own split (not every split: a
lower bound of the best). The limit sizing's reference is every amount scanned down from
the order's size (small pools), the best route of each against the limit.
"""

from __future__ import annotations

import argparse
import random
import zlib
from collections.abc import Callable

from engine_core.amm import CpmmPool, InsufficientLiquidity
from engine_core.limits import max_fill_within_limit, venue_quotes, within_limit
from engine_core.planner import plan_fill
from engine_core.router import best_route

FULL = 200_000
GRID = 4_000
WINDOW = 1_000
BANDS = [
    ("dust", 1, 10**4),
    ("1e4-1e6", 10**4, 10**6),
    ("1e6-1e7", 10**6, 10**7),
    ("1e7+", 10**7, None),
]
Value = Callable[[int], int | None]


def pool_value(pool: CpmmPool, side: str) -> Value:
    """Sell: quote out; buy: minus quote in (None: the pool cannot take it); as
    tests/helpers/brute.py (bench does not import tests)."""

    def v(a: int) -> int | None:
        if a == 0:
            return 0
        try:
            return int(pool.quote_sell(a)[0]) if side == "sell" else -int(pool.quote_buy(a)[0])
        except InsufficientLiquidity:
            return None

    return v


def book_value(makers: list[tuple[int, int]], side: str) -> Value:
    """Taking a base units from makers [(price, qty)] best first (0 decimals)."""
    total = sum(q for _, q in makers)

    def v(a: int) -> int | None:
        if a > total:
            return None
        got, left = 0, a
        for price, qty in makers:
            take = min(qty, left)
            got += take * price
            left -= take
        return got if side == "sell" else -got

    return v


def pair_best(va: Value, vb: Value, t: int, around: list[int]) -> int | None:
    """The best va(x) + vb(t - x) over the reference's splits of t."""

    def total(x: int) -> int | None:
        a, b = va(x), vb(t - x)
        return None if a is None or b is None else a + b

    if t <= FULL:
        xs: set[int] = set(range(t + 1))
    else:
        grid = sorted({t * k // GRID for k in range(GRID + 1)})
        scored = sorted(((v, x) for x in grid if (v := total(x)) is not None), reverse=True)[:4]
        xs = set(grid)
        for c in [x for _, x in scored] + around:
            xs.update(range(max(0, c - WINDOW), min(t, c + WINDOW) + 1))
    vals = [v for x in xs if (v := total(x)) is not None]
    return max(vals) if vals else None


def reference(values: list[Value], alloc: list[int]) -> int:
    """Every pair re-split (the others held), the best total found."""
    best = sum(v(a) or 0 for v, a in zip(values, alloc, strict=True))
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            rest = sum(values[k](alloc[k]) or 0 for k in range(len(values)) if k not in (i, j))
            p = pair_best(values[i], values[j], alloc[i] + alloc[j], [alloc[i]])
            if p is not None:
                best = max(best, p + rest)
    return best


def random_pools(rng: random.Random, k: int, mode: str) -> tuple[dict[str, CpmmPool], float]:
    price = rng.choice([0.15, 1.0, 130.0, 1000.0])
    pools = {}
    for i in range(k):
        x = rng.randint(10**8, 10**9)
        y = max(1, int(x * price * rng.uniform(0.97, 1.03)))
        pools[f"v{i}"] = CpmmPool(x, y, rng.choice([1, 20, 25, 30, 100, 300]), mode)
    return pools, price


def makers_near(rng: random.Random, side: str, price: float, n: int) -> list[tuple[int, int]]:
    levels = [
        (max(1, int(price * rng.uniform(0.98, 1.02))), rng.randint(1, max(1, n // 3)))
        for _ in range(3)
    ]
    return sorted(levels, key=lambda m: -m[0] if side == "sell" else m[0])


def one_case(rng: random.Random, k: int, book: bool, lo: int, hi: int | None, mode: str):
    pools, price = random_pools(rng, k, mode)
    side = rng.choice(["sell", "buy"])
    top = min(p.base_reserve for p in pools.values()) // 10
    n = rng.randint(lo, min(hi - 1, top) if hi else top)
    makers = makers_near(rng, side, price, n) if book else []
    book_qty, route = plan_fill(pools, side, n, makers, None, 0)
    names = sorted(pools)
    legs = {leg.venue: leg.amount for leg in route.legs} if route else {}
    alloc = [legs.get(name, 0) for name in names]
    values = [pool_value(pools[name], side) for name in names]
    if makers:
        alloc.append(book_qty)
        values.append(book_value(makers, side))
    ours = sum(v(a) or 0 for v, a in zip(values, alloc, strict=True))
    ref = reference(values, alloc)
    return ref - ours, abs(ref)


def limit_misses(rng: random.Random, cases: int, mode: str) -> tuple[int, int, int]:
    """(cases, misses, misses where the larger amount had >= 2 quote units spare)."""
    misses = hard = 0
    for _ in range(cases):
        price = rng.choice([1, 7, 130, 1000])
        pools = {}
        for i in range(rng.choice([1, 2])):
            x = rng.randint(2_000, 50_000)
            pools[f"v{i}"] = CpmmPool(
                x, int(x * price * rng.uniform(0.97, 1.03)), rng.choice([0, 25, 100, 300]), mode
            )
        side = rng.choice(["sell", "buy"])
        ask, bid = venue_quotes(pools, 0)
        assert ask is not None and bid is not None
        bps = rng.randint(1, 300)
        limit = ask * (10_000 + bps) // 10_000 if side == "buy" else bid * (10_000 - bps) // 10_000
        amount = min(p.base_reserve for p in pools.values()) // 20
        got = max_fill_within_limit(pools, side, amount, limit, 0)
        best = None
        for a in range(amount, 0, -1):
            try:
                r = best_route(pools, side, a)
            except InsufficientLiquidity:
                continue
            if within_limit(r, limit, 0):
                best = r
                break
        if (got.amount if got else None) != (best.amount if best else None):
            misses += 1
            if best is None:
                continue
            spare = (
                best.quote_amount - limit * best.amount
                if side == "sell"
                else limit * best.amount - best.quote_amount
            )
            hard += spare >= 2
    return cases, misses, hard


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8, help="cases per band and venue set")
    ap.add_argument("--mode", default="input", choices=["input", "output"])
    args = ap.parse_args()
    print(
        f"cpmm fee_mode={args.mode}; {args.seeds} random cases per cell;"
        " worst shortfall vs the reference"
    )
    print(f"{'band':10} {'venues':>6} {'book':>5} {'worst (quote units)':>20} {'worst bps':>10}")
    for name, lo, hi in BANDS:
        for k in (2, 3):
            for book in (False, True):
                rng = random.Random(zlib.crc32(f"{name}/{k}/{book}".encode()))
                worst, worst_bps = 0, 0.0
                for _ in range(args.seeds):
                    short, ref = one_case(rng, k, book, lo, hi, args.mode)
                    worst = max(worst, short)
                    worst_bps = max(worst_bps, 1e4 * short / ref if ref else 0.0)
                print(
                    f"{name:10} {k:>6} {'yes' if book else 'no':>5} {worst:>20} {worst_bps:>10.4f}"
                )
    cases, misses, hard = limit_misses(random.Random(7), 5 * args.seeds, args.mode)
    print(
        f"limit sizing: {cases} cases, {misses} not the largest fitting amount,"
        f" {hard} of them with >= 2 quote units of slack"
    )


if __name__ == "__main__":
    main()
