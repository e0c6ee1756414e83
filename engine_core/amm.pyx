"""Constant-product pool (Raydium-like x*y=k) and the Pool base class every venue shares.

Amounts are integer base units, at most 2**64 - 1 each; products are computed in 128 bits.
Rounding always favours the pool; the fee is taken in the quote token and stays in the pool.
"""

from libc.math cimport INFINITY
from libc.stdint cimport uint64_t

from engine_core.cpmm_steps cimport input_fee_steps_c, rounding_steps_c

cdef extern from "<math.h>" nogil:
    long double sqrtl(long double x)

cdef u128 U64_MAX = 0xFFFFFFFFFFFFFFFF
cdef uint64_t BPS = 10000


class InsufficientLiquidity(ValueError):
    """The pool (or the venues together) cannot fill the amount asked."""


cdef uint64_t amount_arg(object v) except? 0xFFFFFFFFFFFFFFFF:
    """A Python int amount (>= 0) as a C integer; refuses floats, negatives and huge values."""
    cdef uint64_t r
    if isinstance(v, float):
        raise TypeError("amounts are integer base units, not floats")
    try:
        r = v
    except OverflowError:
        if v < 0:
            raise ValueError(f"amount must be >= 0, got {v}") from None
        raise InsufficientLiquidity(f"amount {v} is too large for the pool") from None
    return r


cdef int raise_code(int code) except -1:
    if code == ERR_LIQUIDITY:
        raise InsufficientLiquidity("not enough liquidity in the pool for this amount")
    if code == ERR_OVERFLOW:
        raise InsufficientLiquidity("amount too large: the pool's reserves would overflow")
    return 0


cdef class Pool:
    """What the router needs of a venue. Subclasses implement the nogil `_c` methods;
    the Python API (quote_sell, quote_buy, sell, buy, ...) is written once, here."""

    kind = "pool"

    # -- QUERIES --
    cdef int quote_sell_c(self, u128 dx, u128* out, u128* fee) noexcept nogil:
        return ERR_LIQUIDITY

    cdef int quote_buy_c(self, u128 dy, u128* cost, u128* fee) noexcept nogil:
        return ERR_LIQUIDITY

    cdef int quote_buy_in_c(self, u128 q, u128* dy, u128* fee) noexcept nogil:
        return ERR_LIQUIDITY

    cdef u128 spot_x64_c(self) noexcept nogil:
        return 0

    cdef u128 sell_capacity_c(self, u128 limit) noexcept nogil:
        return 0

    cdef u128 buy_capacity_c(self, u128 limit) noexcept nogil:
        return 0

    cdef double edge_c(self, bint sell) noexcept nogil:
        """The marginal price of the first unit, fee included, quote units per base unit
        (a guide for the router's search; exact amounts come from the quotes)."""
        return 0.0 if sell else INFINITY

    cdef u128 depth_c(self, bint sell, double px, u128 limit) noexcept nogil:
        """The largest amount <= limit (and <= capacity) whose every unit trades at a
        marginal price, fee included, at least as good as `px` (sell: >= px, buy: <= px);
        monotone in px. Approximate (long double), a guide for the searches."""
        return 0

    cdef int breaks_c(self, bint sell, u128 a, u128* out) noexcept nogil:
        """Up to 8 amounts near `a` where the pool's integer value is not concave (a DLMM
        bin's edges: completing a bin costs its rounded-up input; an input fee's steps: the
        last amounts before one more unit is all fee); the router tries them. Listed in a
        row (every such amount between the lowest and the highest), so that the searches
        can walk from one window to the next."""
        return 0

    # -- COMMANDS --
    cdef int sell_c(self, u128 dx, u128* out, u128* fee) noexcept nogil:
        return ERR_LIQUIDITY

    cdef int buy_c(self, u128 dy, u128* cost, u128* fee) noexcept nogil:
        return ERR_LIQUIDITY

    cdef Pool copy_c(self):
        raise NotImplementedError

    cdef int assign_c(self, Pool other) except -1:
        raise NotImplementedError

    # -- PYTHON API --
    def quote_sell(self, base_in):
        """Exact-in: `base_in` base units in -> (quote_out, fee_quote). No change to the pool."""
        cdef u128 out = 0, fee = 0
        cdef int rc = self.quote_sell_c(amount_arg(base_in), &out, &fee)
        if rc:
            raise_code(rc)
        return (py_u128(out), py_u128(fee))

    def quote_buy(self, base_out):
        """Exact-out: `base_out` base units out -> (quote_in, fee_quote). No change to the pool."""
        cdef u128 cost = 0, fee = 0
        cdef int rc = self.quote_buy_c(amount_arg(base_out), &cost, &fee)
        if rc:
            raise_code(rc)
        return (py_u128(cost), py_u128(fee))

    def quote_buy_exact_in(self, quote_in):
        """Exact-in buy: spend `quote_in` quote units -> (base_out, fee_quote). No change."""
        cdef u128 dy = 0, fee = 0
        cdef int rc = self.quote_buy_in_c(amount_arg(quote_in), &dy, &fee)
        if rc:
            raise_code(rc)
        return (py_u128(dy), py_u128(fee))

    def sell(self, base_in):
        """Like quote_sell, and applies the swap to the pool."""
        cdef u128 out = 0, fee = 0
        cdef int rc = self.sell_c(amount_arg(base_in), &out, &fee)
        if rc:
            raise_code(rc)
        return (py_u128(out), py_u128(fee))

    def buy(self, base_out):
        """Like quote_buy, and applies the swap to the pool."""
        cdef u128 cost = 0, fee = 0
        cdef int rc = self.buy_c(amount_arg(base_out), &cost, &fee)
        if rc:
            raise_code(rc)
        return (py_u128(cost), py_u128(fee))

    def spot_price_x64(self):
        """Quote base units per base base unit, Q64.64 fixed point."""
        return py_u128(self.spot_x64_c())

    def sell_capacity(self, limit=U64_MAX):
        """The largest base amount a sell can take (at most `limit`)."""
        return py_u128(self._fitting_c(True, self.sell_capacity_c(amount_arg(limit))))

    def buy_capacity(self, limit=U64_MAX):
        """The largest base amount a buy can take out (at most `limit`)."""
        return py_u128(self._fitting_c(False, self.buy_capacity_c(amount_arg(limit))))

    cdef u128 _fitting_c(self, bint sell, u128 cap) noexcept nogil:
        """The liquidity bound `cap`, lowered to the largest amount whose swap also fits the
        pool's 64-bit reserves (a swap that fits stays fitting when smaller)."""
        cdef u128 q = 0, fee = 0, lo = 0, hi = cap, mid
        if (self.quote_sell_c(cap, &q, &fee) if sell else self.quote_buy_c(cap, &q, &fee)) == OK:
            return cap
        while hi - lo > 1:
            mid = lo + (hi - lo) // 2
            if (self.quote_sell_c(mid, &q, &fee) if sell
                    else self.quote_buy_c(mid, &q, &fee)) == OK:
                lo = mid
            else:
                hi = mid
        return lo

    def edge_price(self, str side):
        """Marginal price of the first unit, fee included (float; a guide only)."""
        return self.edge_c(side == "sell")

    def depth(self, str side, double px, limit=U64_MAX):
        """The amount that trades at marginal prices at least as good as `px` (a guide)."""
        return py_u128(self.depth_c(side == "sell", px, amount_arg(limit)))

    def breaks(self, str side, amount):
        """The amounts breaks_c lists near `amount` (the searches' step edges; for tests)."""
        cdef u128 out[8]
        cdef int n = self.breaks_c(side == "sell", amount_arg(amount), out)
        return [py_u128(out[k]) for k in range(n)]

    def copy(self):
        return self.copy_c()

    def to_state(self):
        raise NotImplementedError

    def __reduce__(self):
        return (type(self).from_state, (self.to_state(),))

    def __eq__(self, other):
        if not isinstance(other, Pool):
            return NotImplemented
        return type(self) is type(other) and self.to_state() == other.to_state()

    __hash__ = None


def _state_int(dict d, str key):
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise ValueError(f"pool state {key!r} must be an integer or decimal string")
    return int(v)


cdef class CpmmPool(Pool):
    """x * y = k. x = base reserve, y = quote reserve; the fee stays in the pool. A buy pays
    ceil(net * 10^4 / (10^4 - fee)) quote for a net that buys the base out (Raydium CP-swap's
    swap_base_output: the fee off the input). A sell, by fee_mode:
    - "input" (the default, Raydium's swap_base_input): ceil(dx * fee / 10^4) of the base
      put in is the fee and the rest is swapped;
    - "output": the fee, ceil(gross * fee / 10^4), comes off the quote paid out.
    The input fee makes a sell's output a staircase in dx (every 10^4 / fee units one more
    unit is all fee): breaks_c gives the searches (split_refine, limits) its step edges.
    A pool stored without a fee_mode is an "output" one (the default before).
    A sell's fee is reported in quote units either way: what the pool pays less for it."""

    kind = "cpmm"

    def __init__(self, base_reserve, quote_reserve, fee_bps=25, fee_mode="input"):
        if not (0 < base_reserve <= U64_MAX and 0 < quote_reserve <= U64_MAX):
            raise ValueError("reserves must be integers in 1 .. 2**64-1")
        if not 0 <= fee_bps < BPS:
            raise ValueError("fee_bps must be in 0 .. 9999")
        if fee_mode not in ("input", "output"):
            raise ValueError("fee_mode must be 'input' or 'output'")
        self.x = base_reserve
        self.y = quote_reserve
        self.fee = fee_bps
        self.fee_on_output = fee_mode == "output"

    @property
    def base_reserve(self):
        return py_u128(self.x)

    @property
    def quote_reserve(self):
        return py_u128(self.y)

    @property
    def fee_bps(self):
        return self.fee

    @property
    def fee_mode(self):
        return "output" if self.fee_on_output else "input"

    # -- QUERIES --
    cdef int quote_sell_c(self, u128 dx, u128* out, u128* fee) noexcept nogil:
        cdef u128 gross, f, net
        if dx == 0:
            out[0] = 0
            fee[0] = 0
            return OK
        if dx > U64_MAX - self.x:
            return ERR_OVERFLOW
        gross = div_c(self.y * dx, self.x + dx)
        if self.fee_on_output:
            f = ceil_div(gross * self.fee, BPS)
            out[0] = gross - f
            fee[0] = f
            return OK
        net = dx - ceil_div(dx * self.fee, BPS)  # swap_base_input: the fee off the input
        out[0] = div_c(self.y * net, self.x + net)
        fee[0] = gross - out[0]
        return OK

    cdef int quote_buy_c(self, u128 dy, u128* cost, u128* fee) noexcept nogil:
        cdef u128 net, c
        if dy == 0:
            cost[0] = 0
            fee[0] = 0
            return OK
        if dy >= self.x:
            return ERR_LIQUIDITY
        net = ceil_div(self.y * dy, self.x - dy)
        if net > U64_MAX:
            return ERR_OVERFLOW
        c = ceil_div(net * BPS, BPS - self.fee)
        if c > U64_MAX - self.y:
            return ERR_OVERFLOW
        cost[0] = c
        fee[0] = c - net
        return OK

    cdef int quote_buy_in_c(self, u128 q, u128* dy, u128* fee) noexcept nogil:
        cdef u128 f, net
        if q > U64_MAX - self.y:
            return ERR_OVERFLOW
        f = ceil_div(q * self.fee, BPS)
        net = q - f
        dy[0] = div_c(self.x * net, self.y + net)
        fee[0] = f
        return OK

    cdef u128 spot_x64_c(self) noexcept nogil:
        return (self.y << 64) // self.x

    cdef int breaks_c(self, bint sell, u128 a, u128* out) noexcept nogil:
        cdef u128 v = 0, f = 0
        if self.y < self.x:     # a base unit worth under a quote unit: one-unit steps
            if sell:
                if self.quote_sell_c(a, &v, &f) != OK:
                    return 0
            elif a >= self.x or self.quote_buy_c(a, &v, &f) != OK:
                return 0
            return rounding_steps_c(self.x, self.y, self.fee, self.fee_on_output, sell, v, out)
        if not sell or self.fee_on_output or self.fee == 0:
            return 0
        return input_fee_steps_c(self.x, self.fee, a, out)

    cdef u128 sell_capacity_c(self, u128 limit) noexcept nogil:
        cdef u128 cap = U64_MAX - self.x
        return cap if cap < limit else limit

    cdef u128 buy_capacity_c(self, u128 limit) noexcept nogil:
        cdef u128 cap = self.x - 1
        return cap if cap < limit else limit

    cdef double edge_c(self, bint sell) noexcept nogil:
        cdef long double p = (<long double>self.y) / (<long double>self.x)
        cdef long double k = (<long double>(BPS - self.fee)) / BPS
        return <double>(p * k if sell else p / k)

    cdef u128 depth_c(self, bint sell, double px, u128 limit) noexcept nogil:
        # sell dx, fee on the output: out = k*y*dx/(x+dx), marginal k*x*y/(x+dx)^2 >= px
        #   <=>  dx <= sqrt(k*x*y/px) - x
        # sell dx, fee on the input: out = y*k*dx/(x+k*dx), marginal k*x*y/(x+k*dx)^2 >= px
        #   <=>  dx <= (sqrt(k*x*y/px) - x) / k
        # buy dy: cost = y*dy/((x-dy)*k), marginal x*y/((x-dy)^2*k) <= px
        #   <=>  dy <= x - sqrt(x*y/(k*px))
        cdef long double x = <long double>self.x, y = <long double>self.y
        cdef long double k = (<long double>(BPS - self.fee)) / BPS
        cdef long double d
        cdef u128 cap = self.sell_capacity_c(limit) if sell else self.buy_capacity_c(limit)
        if px <= 0.0:
            return cap if sell else 0
        if sell:
            d = sqrtl(k * x * y / px) - x
            if not self.fee_on_output:
                d = d / k
        else:
            d = x - sqrtl(x * y / (k * px))
        if d <= 0:
            return 0
        if d >= <long double>cap:
            return cap
        return <u128>d

    # -- COMMANDS --
    cdef int sell_c(self, u128 dx, u128* out, u128* fee) noexcept nogil:
        cdef int rc = self.quote_sell_c(dx, out, fee)
        if rc == OK:
            self.x += dx
            self.y -= out[0]
        return rc

    cdef int buy_c(self, u128 dy, u128* cost, u128* fee) noexcept nogil:
        cdef int rc = self.quote_buy_c(dy, cost, fee)
        if rc == OK:
            self.x -= dy
            self.y += cost[0]
        return rc

    cdef Pool copy_c(self):
        cdef CpmmPool p = CpmmPool.__new__(CpmmPool)
        p.x = self.x
        p.y = self.y
        p.fee = self.fee
        p.fee_on_output = self.fee_on_output
        return p

    cdef int assign_c(self, Pool other) except -1:
        cdef CpmmPool o = <CpmmPool?>other
        self.x = o.x
        self.y = o.y
        self.fee = o.fee
        self.fee_on_output = o.fee_on_output
        return 0

    # -- STATE --
    def to_state(self):
        return {
            "kind": "cpmm",
            "base_reserve": str(py_u128(self.x)),
            "quote_reserve": str(py_u128(self.y)),
            "fee_bps": self.fee,
            "fee_mode": self.fee_mode,
        }

    @staticmethod
    def from_state(dict d):
        if d.get("kind", "cpmm") != "cpmm":
            raise ValueError(f"not a cpmm state: kind={d.get('kind')!r}")
        return CpmmPool(
            _state_int(d, "base_reserve"), _state_int(d, "quote_reserve"),
            _state_int(d, "fee_bps"), d.get("fee_mode", "output"),  # stored before the modes
        )

    def __repr__(self):
        return (f"CpmmPool(base_reserve={py_u128(self.x)}, quote_reserve={py_u128(self.y)}, "
                f"fee_bps={self.fee}, fee_mode={self.fee_mode!r})")
