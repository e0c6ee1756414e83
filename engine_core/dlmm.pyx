"""Liquidity-bin pool (Meteora DLMM-like).

Bin k holds base and quote at the fixed price P_k = (1 + bin_step/10000)^k (quote units per
base unit, Q64.64). Inside a bin the sum P*x + y is constant; a swap takes what the active
bin has, then moves to the next bin (down for a sell, up for a buy). Bins above the active
one hold base only, bins below quote only.

Fee per bin (rate in 1e9 precision, capped at 10%):
    rate = fee_bps * 1e5 + ceil((va * bin_step)^2 * variable_fee_control / 1e11)
    va   = min(volatility_reference + |index_reference - k| * 10000, max_volatility_accumulator)
At the start of each swap, with t = clock - last_update: if t >= filter_period the index
reference moves to the active bin and the volatility reference becomes va * reduction_factor /
10000 (t < decay_period) or 0 (t >= decay_period). So the fee grows with the bins crossed
recently and decays afterwards. `clock` only moves with set_clock() (the worker sets it from
its time source before each use of the pools); Meteora's defaults: filter_period 30 s,
decay_period 600 s, reduction_factor 5000. With filter_period = 0 every swap refreshes the
references (a decay per swap, no clock needed).
The fees stay in the pool (kept apart from the bins' tradable liquidity, as LP fees).

Which token pays the fee, `fee_mode` (Meteora's CollectFeeMode; MeteoraAg/dlmm-sdk
commons/src/quote.rs, swap_exact_in_quote_at_bin / swap_exact_out_quote_at_bin):
- "input" (InputOnly, Meteora's default and the default here): always the input token.
  A buy adds compute_fee(net) = ceil(net * rate / (1e9 - rate)) to the quote a bin needs;
  a sell with b base units left takes compute_fee_from_amount(b) = ceil(b * rate / 1e9)
  off them and swaps the rest in the bin; when that rest would empty the bin, the bin takes
  dmax = ceil(y * 2^64 / P) plus compute_fee(dmax) and the remainder goes on to the next
  bin. A sell's fee stays in the pool in base (fees_base) and is reported in quote units,
  the base fee at the bin's price (floor). A sell's output is then a staircase: flat for
  one unit every 1e9 / rate units from where each bin starts (its first unit all fee);
  breaks_c lists those steps near an amount, across bins, with the bins' edges, for the
  searches (split_refine.edges_c, limits), as the CPMM's does for its input fee.
- "quote" (OnlyY): a buy as above; a sell takes compute_fee_from_amount(gross) off the
  quote a bin pays out. A stored state without fee_mode is "quote" (it was stored before
  the modes, when OnlyY was the only one), so stored pools keep their numbers.

DlmmPool is layered over files (a cdef class cannot span them): dlmm_math.pxd (constants,
the bin price, inline), dlmm_bins (storage, parameters, fee rate, exact swap walks),
dlmm_quotes (the whole-bin quote cache and the router's queries), dlmm_breaks (the step
edges for the searches: bins' edges, an InputOnly sell's fee steps), and here:
construction, the Python API, the commands and the state.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport floor, log
from libc.stdlib cimport free
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

from engine_core.amm cimport OK, Pool, ceil_div, py_u128, u128
from engine_core.dlmm_math cimport (
    MAX_BINS, U64_MAX, absorbs_c, check_bin_step, price_c, whole_in_c,
)

PARAMS = (
    "bin_step", "active_id", "bins_each_side", "base_per_bin", "quote_per_bin", "fee_bps",
    "variable_fee_control", "max_volatility_accumulator", "filter_period", "decay_period",
    "reduction_factor", "fee_mode",
)


# -- bin prices --
def bin_price_x64(bin_id, bin_step):
    """The price of bin `bin_id`, quote units per base unit, Q64.64."""
    cdef bint ovf = False
    check_bin_step(bin_step)
    cdef u128 p = price_c(bin_id, bin_step, &ovf)
    if ovf:
        raise ValueError(f"bin {bin_id} is out of range for bin_step {bin_step}")
    return py_u128(p)


def bin_id_for_price_x64(price_x64, bin_step):
    """The bin k with P_k <= price < P_(k+1) (a float guess, settled by exact comparisons)."""
    check_bin_step(bin_step)
    if price_x64 <= 0:
        raise ValueError("price must be > 0")
    guess = int(floor(log(price_x64 / 2.0**64) / log(1.0 + bin_step / 10000.0)))
    while bin_price_x64(guess, bin_step) > price_x64:
        guess -= 1
    while bin_price_x64(guess + 1, bin_step) <= price_x64:
        guess += 1
    return guess


cdef class DlmmPool(DlmmBreaks):
    """Bins of liquidity at fixed prices, a base fee and a volatility fee (see module doc)."""

    kind = "dlmm"

    def __init__(self, bin_step, active_id, bins_each_side, base_per_bin, quote_per_bin,
                 fee_bps=20, variable_fee_control=40000, max_volatility_accumulator=350000,
                 filter_period=30, decay_period=600, reduction_factor=5000, fee_mode="input"):
        if not 0 <= bins_each_side < MAX_BINS // 2:
            raise ValueError("bins_each_side must be in 0 .. 32767")
        if not (0 <= base_per_bin <= U64_MAX and 0 <= quote_per_bin <= U64_MAX):
            raise ValueError("base_per_bin / quote_per_bin must be in 0 .. 2**64-1")
        self._set_params(bin_step, fee_bps, variable_fee_control, max_volatility_accumulator,
                         filter_period, decay_period, reduction_factor, fee_mode)
        self.alloc_c(active_id - bins_each_side, 2 * bins_each_side + 1)
        cdef int64_t i, k
        for i in range(self.n_bins):
            k = self.lo_id + i
            self.bx[i] = base_per_bin if k > active_id else 0
            self.by[i] = quote_per_bin if k < active_id else 0
            if k == active_id:
                self.bx[i] = base_per_bin // 2
                self.by[i] = quote_per_bin // 2
        self.active_id = active_id
        self.index_reference = active_id
        self.volatility_accumulator = 0
        self.volatility_reference = 0
        self.last_update = 0
        self.clock = 0
        self.fees = 0
        self.fees_b = 0

    @staticmethod
    def from_params(dict params):
        """From markets.toml params (integer base units); unknown keys are refused."""
        unknown = set(params) - set(PARAMS)
        if unknown:
            raise ValueError(f"unknown dlmm params: {sorted(unknown)}")
        for key in PARAMS[:5]:
            if key not in params:
                raise ValueError(f"dlmm needs {key}")
        return DlmmPool(**params)

    # -- Python-visible state --
    @property
    def base_reserve(self):
        """Base units held: the bins' base plus the fees kept."""
        cdef u128 s = self.fees_b
        cdef int64_t i
        for i in range(self.n_bins):
            s += self.bx[i]
        return py_u128(s)

    @property
    def quote_reserve(self):
        """Quote units held: the bins' quote plus the fees kept."""
        cdef u128 s = self.fees
        cdef int64_t i
        for i in range(self.n_bins):
            s += self.by[i]
        return py_u128(s)

    @property
    def fees_quote(self):
        return py_u128(self.fees)

    @property
    def fees_base(self):
        return py_u128(self.fees_b)

    @property
    def fee_mode(self):
        return "input" if self.fee_in else "quote"

    def bins(self):
        """[(bin_id, base, quote, price_x64)] for every bin."""
        return [(self.lo_id + i, py_u128(self.bx[i]), py_u128(self.by[i]), py_u128(self.bp[i]))
                for i in range(self.n_bins)]

    def fee_rate(self, bin_id=None):
        """The fee rate (1e9 precision) a swap starting now would pay in `bin_id`."""
        cdef int64_t ir
        cdef uint64_t vr
        self.refs_c(&ir, &vr)
        k = self.active_id if bin_id is None else bin_id
        return self.fee_rate_c(self.va_at_c(k, ir, vr))

    def set_clock(self, now):
        """Move the pool's clock (seconds) forward; it never goes back."""
        if now > self.clock:
            self.clock = now
            self.invalidate_c()
    # -- COMMANDS --
    cdef int sell_c(self, u128 dx, u128* out, u128* fee) noexcept nogil:
        cdef int rc = self.swap_sell_c(dx, out, fee, False)
        if rc == OK and dx != 0:
            self.swap_sell_c(dx, out, fee, True)
        return rc

    cdef int buy_c(self, u128 dy, u128* cost, u128* fee) noexcept nogil:
        cdef int rc = self.swap_buy_c(dy, cost, fee, False)
        if rc == OK and dy != 0:
            self.swap_buy_c(dy, cost, fee, True)
        return rc

    cdef Pool copy_c(self):
        cdef DlmmPool p = DlmmPool.__new__(DlmmPool)
        p.assign_c(self)
        return p

    cdef int assign_c(self, Pool other) except -1:
        cdef DlmmPool o = <DlmmPool?>other
        cdef size_t size = o.n_bins * sizeof(u128)
        if self is o:
            return 0
        self.invalidate_c()
        if self.n_bins != o.n_bins or self.bx == NULL:
            free(self.cs)
            free(self.cb)
            self.cs = NULL
            self.cb = NULL
            PyMem_Free(self.bx)
            PyMem_Free(self.by)
            PyMem_Free(self.bp)
            self.bx = <u128*>PyMem_Malloc(size)
            self.by = <u128*>PyMem_Malloc(size)
            self.bp = <u128*>PyMem_Malloc(size)
            if self.bx == NULL or self.by == NULL or self.bp == NULL:
                raise MemoryError()
        memcpy(self.bx, o.bx, size)
        memcpy(self.by, o.by, size)
        memcpy(self.bp, o.bp, size)
        self.n_bins = o.n_bins
        self.lo_id = o.lo_id
        self.bin_step = o.bin_step
        self.fee_bps = o.fee_bps
        self.variable_fee_control = o.variable_fee_control
        self.max_volatility_accumulator = o.max_volatility_accumulator
        self.filter_period = o.filter_period
        self.decay_period = o.decay_period
        self.reduction_factor = o.reduction_factor
        self.fee_in = o.fee_in
        self.active_id = o.active_id
        self.volatility_accumulator = o.volatility_accumulator
        self.volatility_reference = o.volatility_reference
        self.index_reference = o.index_reference
        self.last_update = o.last_update
        self.clock = o.clock
        self.fees = o.fees
        self.fees_b = o.fees_b
        return 0

    # -- swap_to_price support --
    def amount_to_bin(self, target_id):
        """(side, base_amount) of the swap that makes `target_id` the active bin (clamped to
        the pool's bins); ("sell", 0) when it is active already."""
        cdef int64_t t = target_id, k, i, ir
        cdef uint64_t vr, rate = 0
        cdef u128 s = 0, d, last = 0
        cdef int64_t hi = self.lo_id + self.n_bins - 1
        if t < self.lo_id:
            t = self.lo_id
        if t > hi:
            t = hi
        if t < self.active_id:
            # exhaust the quote of bins active .. t+1, then one unit into bin t (InputOnly:
            # each bin's input with its fee, and one unit more where the last one absorbs it)
            self.refs_c(&ir, &vr)
            k = self.active_id
            while k > t:
                i = k - self.lo_id
                if 0 <= i < self.n_bins and self.by[i] != 0:
                    d = ceil_div(self.by[i] << 64, self.bp[i])
                    if self.fee_in:
                        rate = self.fee_rate_c(self.va_at_c(k, ir, vr))
                        s += whole_in_c(d, rate)
                        last = d
                    else:
                        s += d
                k -= 1
            if self.by[t - self.lo_id] != 0:
                s += 2 if last != 0 and absorbs_c(last, rate) else 1
            return ("sell", py_u128(s))
        if t > self.active_id:
            k = self.active_id
            while k < t:
                i = k - self.lo_id
                if 0 <= i < self.n_bins:
                    s += self.bx[i]
                k += 1
            if self.bx[t - self.lo_id] != 0:
                s += 1
            return ("buy", py_u128(s))
        return ("sell", 0)

    # -- STATE --
    def to_state(self):
        """JSON-able; bins as runs [count, base, quote] (amounts as decimal strings)."""
        runs = []
        last = None
        cdef int64_t i
        for i in range(self.n_bins):
            x = str(py_u128(self.bx[i]))
            y = str(py_u128(self.by[i]))
            if last is not None and last[1] == x and last[2] == y:
                last[0] += 1
            else:
                last = [1, x, y]
                runs.append(last)
        return {
            "kind": "dlmm",
            "bin_step": self.bin_step,
            "fee_bps": self.fee_bps,
            "variable_fee_control": self.variable_fee_control,
            "max_volatility_accumulator": self.max_volatility_accumulator,
            "filter_period": self.filter_period,
            "decay_period": self.decay_period,
            "reduction_factor": self.reduction_factor,
            "fee_mode": self.fee_mode,
            "lo_id": self.lo_id,
            "bins": runs,
            "active_id": self.active_id,
            "volatility_accumulator": self.volatility_accumulator,
            "volatility_reference": self.volatility_reference,
            "index_reference": self.index_reference,
            "last_update": self.last_update,
            "clock": self.clock,
            "fees_quote": str(py_u128(self.fees)),
            "fees_base": str(py_u128(self.fees_b)),
        }

    @staticmethod
    def from_state(dict d):
        if d.get("kind") != "dlmm":
            raise ValueError(f"not a dlmm state: kind={d.get('kind')!r}")
        cdef DlmmPool p = DlmmPool.__new__(DlmmPool)
        p._set_params(int(d["bin_step"]), int(d["fee_bps"]), int(d["variable_fee_control"]),
                      int(d["max_volatility_accumulator"]), int(d["filter_period"]),
                      int(d["decay_period"]), int(d["reduction_factor"]),
                      d.get("fee_mode", "quote"))
        runs = d["bins"]
        n = sum(int(r[0]) for r in runs)
        p.alloc_c(int(d["lo_id"]), n)
        cdef int64_t i = 0
        for count, x, y in runs:
            xv, yv = int(x), int(y)
            if not (0 <= xv <= U64_MAX and 0 <= yv <= U64_MAX):
                raise ValueError("bin amounts must be in 0 .. 2**64-1")
            for _ in range(int(count)):
                p.bx[i] = xv
                p.by[i] = yv
                i += 1
        p.active_id = int(d["active_id"])
        p.volatility_accumulator = int(d["volatility_accumulator"])
        p.volatility_reference = int(d["volatility_reference"])
        p.index_reference = int(d["index_reference"])
        p.last_update = int(d["last_update"])
        p.clock = int(d["clock"])
        p.fees = int(d["fees_quote"])
        p.fees_b = int(d.get("fees_base", 0))
        return p

    def __repr__(self):
        return (f"DlmmPool(bin_step={self.bin_step}, active_id={self.active_id}, "
                f"bins={self.lo_id}..{self.lo_id + self.n_bins - 1}, fee_bps={self.fee_bps}, "
                f"fee_mode={self.fee_mode!r}, "
                f"volatility_accumulator={self.volatility_accumulator})")
