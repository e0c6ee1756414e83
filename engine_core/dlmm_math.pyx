from libc.stdint cimport int64_t, uint64_t

from engine_core.amm cimport u128

cdef u128 Q64 = (<u128>1) << 64
cdef u128 U64_MAX = 0xFFFFFFFFFFFFFFFF
cdef u128 U128_MAX = ~(<u128>0)
cdef uint64_t FEE_PRECISION = 1000000000
cdef uint64_t MAX_FEE_RATE = 100000000          # 10%
cdef uint64_t BPS = 10000
cdef u128 VAR_FEE_SCALE = 100000000000          # 1e11
cdef int64_t MAX_BINS = 1 << 16
cdef int64_t BREAK_BINS = 4                    # breaks_c: at most 2 * BREAK_BINS amounts
# Bin prices must keep 24 bits of precision (so neighbouring bins differ) and leave room
# for amounts: 2**-40 <= price <= 2**56 quote units per base unit.
cdef u128 MIN_PRICE = (<u128>1) << 24
cdef u128 MAX_PRICE = (<u128>1) << 120


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


cdef u128 price_c(int64_t bin_id, int bin_step, bint* overflow) noexcept nogil:
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


def _check_bin_step(bin_step):
    if not 1 <= bin_step <= 500:
        raise ValueError("bin_step must be in 1 .. 500 bps")
