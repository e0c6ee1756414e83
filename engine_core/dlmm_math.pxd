# The DLMM arithmetic shared by dlmm_bins, dlmm_quotes, dlmm_breaks and dlmm (see dlmm.pyx):
# the constants, as C compile-time constants of the same C types as before, and the Q64.64
# bin price. Everything here is inline: no module of its own, compiled into each user.
from libc.stdint cimport int64_t, uint64_t

from engine_core.amm cimport ceil_div, u128

cdef extern from *:
    """
    #define DLMM_Q64 (((unsigned __int128)1) << 64)
    #define DLMM_U64_MAX ((unsigned __int128)0xFFFFFFFFFFFFFFFFULL)
    #define DLMM_U128_MAX (~((unsigned __int128)0))
    #define DLMM_FEE_PRECISION ((uint64_t)1000000000ULL)
    #define DLMM_MAX_FEE_RATE ((uint64_t)100000000ULL)
    #define DLMM_BPS ((uint64_t)10000ULL)
    #define DLMM_VAR_FEE_SCALE ((unsigned __int128)100000000000ULL)
    #define DLMM_MAX_BINS ((int64_t)1 << 16)
    #define DLMM_BREAK_BINS ((int64_t)4)
    #define DLMM_MIN_PRICE (((unsigned __int128)1) << 24)
    #define DLMM_MAX_PRICE (((unsigned __int128)1) << 120)
    """
    const u128 Q64 "DLMM_Q64"
    const u128 U64_MAX "DLMM_U64_MAX"
    const u128 U128_MAX "DLMM_U128_MAX"
    const uint64_t FEE_PRECISION "DLMM_FEE_PRECISION"
    const uint64_t MAX_FEE_RATE "DLMM_MAX_FEE_RATE"           # 10%
    const uint64_t BPS "DLMM_BPS"
    const u128 VAR_FEE_SCALE "DLMM_VAR_FEE_SCALE"             # 1e11
    const int64_t MAX_BINS "DLMM_MAX_BINS"
    const int64_t BREAK_BINS "DLMM_BREAK_BINS"   # breaks_c: at most 2 * BREAK_BINS amounts
    # Bin prices must keep 24 bits of precision (so neighbouring bins differ) and leave room
    # for amounts: 2**-40 <= price <= 2**56 quote units per base unit.
    const u128 MIN_PRICE "DLMM_MIN_PRICE"
    const u128 MAX_PRICE "DLMM_MAX_PRICE"


cdef inline u128 mulq_c(u128 a, u128 b, bint* overflow) noexcept nogil:
    """(a * b) >> 64 for Q64.64 a, b; flags overflow past 128 bits."""
    cdef u128 ah = a >> 64, al = <uint64_t>a, bh = b >> 64, bl = <uint64_t>b
    cdef u128 hh = ah * bh
    cdef u128 r
    if (hh >> 64) != 0:
        overflow[0] = True
        return 0
    r = (hh << 64) + ah * bl
    if r < ah * bl:
        overflow[0] = True
    r += al * bh
    if r < al * bh:
        overflow[0] = True
    r += (al * bl) >> 64
    return r


cdef inline u128 price_c(int64_t bin_id, int bin_step, bint* overflow) noexcept nogil:
    """(1 + bin_step/10000)^bin_id in Q64.64 (exponentiation by squaring, then inverted for
    a negative id); deterministic integer arithmetic. Flags prices out of the usable range."""
    cdef u128 base = Q64 + (((<u128>bin_step) << 64) // BPS)
    cdef u128 r = Q64
    cdef uint64_t n = <uint64_t>(-bin_id if bin_id < 0 else bin_id)
    while n:
        if n & 1:
            r = mulq_c(r, base, overflow)
        n >>= 1
        if n:
            base = mulq_c(base, base, overflow)
    if r == 0:
        overflow[0] = True
        return 0
    if bin_id < 0:
        r = U128_MAX // r
    if r < MIN_PRICE or r > MAX_PRICE:
        overflow[0] = True
    return r


cdef inline int check_bin_step(object bin_step) except -1:
    if not 1 <= bin_step <= 500:
        raise ValueError("bin_step must be in 1 .. 500 bps")
    return 0


# The fee of Meteora's LbPair (MeteoraAg/dlmm-sdk commons/src/extensions/lb_pair.rs), rate in
# FEE_PRECISION (1e9), amounts < 2**64 so the products fit 128 bits.
cdef inline u128 fee_from_amount_c(u128 amount_with_fees, uint64_t rate) noexcept nogil:
    """compute_fee_from_amount: the fee inside an amount that includes it,
    ceil(amount * rate / 1e9)."""
    return ceil_div(amount_with_fees * rate, FEE_PRECISION)


cdef inline u128 fee_on_amount_c(u128 amount, uint64_t rate) noexcept nogil:
    """compute_fee: the fee to add to an amount that excludes it,
    ceil(amount * rate / (1e9 - rate))."""
    return ceil_div(amount * rate, FEE_PRECISION - rate)


cdef inline u128 whole_in_c(u128 dmax, uint64_t rate) noexcept nogil:
    """InputOnly: the base in, fee included, that empties a bin needing dmax net (quote.rs
    swap_exact_in_quote_at_bin: included = excluded + compute_fee(excluded))."""
    return dmax + fee_on_amount_c(dmax, rate)


cdef inline bint absorbs_c(u128 dmax, uint64_t rate) noexcept nogil:
    """InputOnly: whether one unit more than whole_in_c still ends in the bin (its net after
    the fee is dmax again: the bin takes it all, the extra unit as fee, and the swap stops)."""
    cdef u128 t = whole_in_c(dmax, rate) + 1
    return t - fee_from_amount_c(t, rate) == dmax
