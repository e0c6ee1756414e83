"""The simulated market: a seeded random walk for reference prices, and the swap that
moves a pool's spot price to a target (what outside traders and POST /sim/price do).

Randomness is xoshiro256** seeded through splitmix64, so a seed gives the same numbers on
every run, whatever numpy's version. Prices are Q64.64 integers (quote units per base
unit). Floats only shape the random walk; the swaps themselves are exact integer amounts.
"""

import math
import zlib

from libc.math cimport cos, exp, log, sqrt
from libc.stdint cimport uint64_t

from engine_core.amm cimport OK, CpmmPool, Pool, py_u128, u128
from engine_core.dlmm cimport DlmmPool

from engine_core.dlmm import bin_id_for_price_x64

cdef double TWO_PI = 6.283185307179586
cdef double SECONDS_PER_YEAR = 365.0 * 86400.0
cdef u128 U64_MAX = 0xFFFFFFFFFFFFFFFF


cdef inline uint64_t rotl(uint64_t x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline uint64_t splitmix64(uint64_t* s) noexcept nogil:
    s[0] += 0x9E3779B97F4A7C15ULL
    cdef uint64_t z = s[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


def derive_seed(seed, str label):
    """A seed for one stream (e.g. one market) from the run's seed and a label."""
    cdef uint64_t s = ((seed & 0xFFFFFFFFFFFFFFFF) ^ (zlib.crc32(label.encode()) << 32)
                       ^ zlib.adler32(label.encode()))
    return splitmix64(&s)


cdef class Rng:
    """xoshiro256**: uniform, normal and integer draws, reproducible from the seed."""

    cdef uint64_t s[4]
    cdef bint has_spare
    cdef double spare

    def __init__(self, seed=0):
        cdef uint64_t sm = seed & 0xFFFFFFFFFFFFFFFF
        cdef int i
        for i in range(4):
            self.s[i] = splitmix64(&sm)
        self.has_spare = False
        self.spare = 0.0

    cdef uint64_t next_c(self) noexcept nogil:
        cdef uint64_t result = rotl(self.s[1] * 5, 7) * 9
        cdef uint64_t t = self.s[1] << 17
        self.s[2] ^= self.s[0]
        self.s[3] ^= self.s[1]
        self.s[1] ^= self.s[2]
        self.s[0] ^= self.s[3]
        self.s[2] ^= t
        self.s[3] = rotl(self.s[3], 45)
        return result

    cdef double uniform_c(self) noexcept nogil:
        return (self.next_c() >> 11) * (1.0 / 9007199254740992.0)

    cdef double normal_c(self) noexcept nogil:
        cdef double u1, u2, r
        if self.has_spare:
            self.has_spare = False
            return self.spare
        u1 = 1.0 - self.uniform_c()      # (0, 1]
        u2 = self.uniform_c()
        r = sqrt(-2.0 * log(u1))
        self.spare = r * cos(TWO_PI * u2 + 1.5707963267948966)   # r * sin(...)
        self.has_spare = True
        return r * cos(TWO_PI * u2)

    def next_u64(self):
        return self.next_c()

    def uniform(self):
        """A float in [0, 1)."""
        return self.uniform_c()

    def normal(self):
        """A standard normal draw (Box-Muller)."""
        return self.normal_c()

    def randint(self, lo, hi):
        """An integer in lo .. hi (inclusive), without modulo bias."""
        if hi < lo:
            raise ValueError("hi < lo")
        span = hi - lo + 1
        if span > 2**64:
            raise ValueError("range too wide")
        if span == 2**64:
            return lo + self.next_c()
        cdef uint64_t n = span
        cdef uint64_t v, limit
        limit = (0xFFFFFFFFFFFFFFFFULL // n) * n
        while True:
            v = self.next_c()
            if v < limit:
                return lo + (v % n)

    def get_state(self):
        return [self.s[0], self.s[1], self.s[2], self.s[3], self.has_spare, self.spare]

    def set_state(self, state):
        for i in range(4):
            self.s[i] = state[i]
        self.has_spare = bool(state[4])
        self.spare = float(state[5])


cdef class PriceProcess:
    """Geometric Brownian motion of a price (Q64.64), annual drift and volatility:
    log p += (drift - volatility^2 / 2) dt + volatility sqrt(dt) Z, dt in years."""

    cdef readonly Rng rng
    cdef readonly double drift
    cdef readonly double volatility
    cdef readonly double seconds_per_step
    cdef readonly long long steps
    cdef object start_x64       # the price at the last reset (exact)
    cdef double log_return      # log(price / start) since then

    def __init__(self, seed, price_x64, double drift=0.0, double volatility=0.0,
                 double seconds_per_step=1.0):
        if price_x64 <= 0:
            raise ValueError("price must be > 0")
        if volatility < 0 or seconds_per_step <= 0:
            raise ValueError("volatility must be >= 0 and seconds_per_step > 0")
        self.rng = Rng(seed)
        self.drift = drift
        self.volatility = volatility
        self.seconds_per_step = seconds_per_step
        self.steps = 0
        self.start_x64 = int(price_x64)
        self.log_return = 0.0

    @property
    def price_x64(self):
        # start * exp(r) with a 52-bit integer multiplier: exact when r == 0
        return max(1, (self.start_x64 * int(round(exp(self.log_return) * 4503599627370496.0)))
                   >> 52)

    def step(self, seconds=None):
        """Advance by one step (or `seconds`); the new price, Q64.64."""
        cdef double dt = (self.seconds_per_step if seconds is None else seconds)
        if dt < 0:
            raise ValueError("seconds must be >= 0")
        dt /= SECONDS_PER_YEAR
        cdef double z = self.rng.normal_c()
        self.log_return += ((self.drift - 0.5 * self.volatility * self.volatility) * dt
                            + self.volatility * sqrt(dt) * z)
        self.steps += 1
        return self.price_x64

    def path(self, n):
        """The next n prices."""
        return [self.step() for _ in range(n)]

    def set_price_x64(self, price_x64):
        """Jump to a price (POST /sim/price); the walk continues from there."""
        if price_x64 <= 0:
            raise ValueError("price must be > 0")
        self.start_x64 = int(price_x64)
        self.log_return = 0.0

    def to_state(self):
        return {"rng": self.rng.get_state(), "drift": self.drift,
                "volatility": self.volatility, "seconds_per_step": self.seconds_per_step,
                "steps": self.steps, "start_x64": str(self.start_x64),
                "log_return": self.log_return.hex()}

    @staticmethod
    def from_state(dict d):
        cdef PriceProcess p = PriceProcess(0, 1 << 64, d["drift"], d["volatility"],
                                           d["seconds_per_step"])
        p.rng.set_state(d["rng"])
        p.steps = d["steps"]
        p.start_x64 = int(d["start_x64"])
        p.log_return = float.fromhex(d["log_return"])
        return p


def jitter_x64(price_x64, Rng rng, min_bps, max_bps):
    """price moved up or down (even odds) by a random whole number of bps in
    [min_bps, max_bps]: how the simulator keeps each venue apart from the reference."""
    if not 0 <= min_bps <= max_bps < 10000:
        raise ValueError("need 0 <= min_bps <= max_bps < 10000")
    bps = rng.randint(min_bps, max_bps)
    if rng.next_c() >> 63:
        return price_x64 * (10000 + bps) // 10000
    return price_x64 * (10000 - bps) // 10000


# -- swap_to_price --
cdef inline bint reached_c(CpmmPool p, bint sell, u128 amount, u128 target,
                           bint* ok) noexcept nogil:
    """Whether trading `amount` takes the spot price to `target` (or past it); a trade the
    pool cannot do counts as past it, with ok = False."""
    cdef u128 q = 0, fee = 0
    ok[0] = True
    if sell:
        if p.quote_sell_c(amount, &q, &fee) != OK:
            ok[0] = False
            return True
        return ((p.y - q) << 64) // (p.x + amount) <= target
    if p.quote_buy_c(amount, &q, &fee) != OK:
        ok[0] = False
        return True
    return ((p.y + q) << 64) // (p.x - amount) >= target


cdef tuple _cpmm_to_price(CpmmPool p, u128 target):
    """The smallest trade after which the spot price has reached `target` (fee included):
    x' = sqrt(x * y / target) for the estimate, then bisection on the exact integer swap."""
    cdef u128 spot = p.spot_x64_c(), lo = 0, hi, mid, est
    cdef bint ok
    cdef bint sell = target < spot
    side = "sell" if sell else "buy"
    if target == spot:
        return ("sell", 0)
    x_target = math.isqrt(((py_u128(p.x) * py_u128(p.y)) << 64) // py_u128(target))
    hi = (U64_MAX - p.x) if sell else (p.x - 1)
    if hi == 0:
        return (side, 0)
    if not reached_c(p, sell, hi, target, &ok):
        return (side, py_u128(hi))           # out of reach: as far as the pool goes
    est = min(max(abs(x_target - py_u128(p.x)), 1), py_u128(hi))
    if reached_c(p, sell, est, target, &ok):
        hi = est
    else:
        lo = est
    while hi - lo > 1:
        mid = lo + (hi - lo) // 2
        if reached_c(p, sell, mid, target, &ok):
            hi = mid
        else:
            lo = mid
    reached_c(p, sell, hi, target, &ok)
    return (side, py_u128(hi if ok else lo))


def swap_to_price(Pool pool, target_price_x64):
    """(side, base_amount) of the swap that moves `pool`'s spot price to the target
    (Q64.64): exactly for cpmm (the smallest trade that reaches it), to the bin holding the
    target for dlmm (P_k <= target < P_(k+1)). ("sell", 0) when nothing needs doing; as far as
    the pool's liquidity allows when the target is out of reach."""
    if target_price_x64 <= 0:
        raise ValueError("target price must be > 0")
    if isinstance(pool, CpmmPool):
        return _cpmm_to_price(<CpmmPool>pool, min(target_price_x64, (1 << 128) - 1))
    if isinstance(pool, DlmmPool):
        return pool.amount_to_bin(bin_id_for_price_x64(target_price_x64, pool.bin_step))
    raise TypeError(f"swap_to_price does not know pools of kind {pool.kind!r}")


def move_to_price(Pool pool, target_price_x64):
    """Apply swap_to_price's trade to the pool; (side, base_amount, quote_amount, fee)."""
    side, amount = swap_to_price(pool, target_price_x64)
    if amount == 0:
        return (side, 0, 0, 0)
    quote, fee = pool.sell(amount) if side == "sell" else pool.buy(amount)
    return (side, amount, quote, fee)
