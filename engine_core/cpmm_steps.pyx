"""The edges of a constant-product pool's steps, where its integer value is not concave
(CpmmPool.breaks_c; the searches in split_refine and limits try them):

- input_fee_steps_c: a sell with the fee off the input (Raydium's swap_base_input), whose
  fee ceil(dx * fee / 10^4) takes one more whole base unit every 10^4 / fee units;
- rounding_steps_c: where a base unit is worth under a quote unit (SOL/USDC in lamports and
  micro-USDC), the value is a staircase of one quote unit a step, several base units wide.
"""

from libc.stdint cimport uint64_t

from engine_core.int128 cimport ceil_div, div_c, u128

cdef u128 U64_MAX = 0xFFFFFFFFFFFFFFFF
cdef uint64_t BPS = 10000


cdef int input_fee_steps_c(u128 x, uint64_t fee, u128 a, u128* out) noexcept nogil:
    """ceil(dx * fee / 10^4) steps up by one unit at dx = floor(k * 10^4 / fee) + 1, where
    the base unit added is all fee (the output does not move): the last amounts before
    those steps, k = fee(a) - 4 .. fee(a) + 3."""
    cdef u128 k, e, cap = U64_MAX - x
    cdef int n = 0
    cdef int d
    k = ceil_div(a * fee, BPS)
    for d in range(-4, 4):
        if d < 0 and k < <u128>(-d):
            continue
        e = div_c(((k - <u128>(-d)) if d < 0 else (k + <u128>d)) * BPS, fee)
        if 0 < e <= cap:
            out[n] = e
            n += 1
    return n


cdef int rounding_steps_c(u128 x, u128 y, uint64_t fee, bint fee_on_output, bint sell,
                          u128 v, u128* out) noexcept nogil:
    """The edges of the 8 one-quote-unit steps around the value v (quote out of a sell,
    quote paid for a buy), exactly: a sell, the smallest input paid each output; a buy, the
    largest output each cost buys. So the split can set two venues' steps out of phase."""
    cdef u128 lvl, e = 0, g, m
    cdef u128 cap = U64_MAX - x if sell else x - 1
    cdef int n = 0
    cdef int d, lo = -3 if sell else -4
    for d in range(lo, lo + 8):
        if d < 0 and v < <u128>(-d):
            continue
        lvl = (v - <u128>(-d)) if d < 0 else (v + <u128>d)
        if sell:
            # out(dx) >= lvl; output fee: gross >= g = ceil(lvl B / (B - fee)), and
            # gross(dx) >= g <=> dx >= ceil(g x / (y - g)); input fee: y net / (x + net)
            # >= lvl <=> net >= m = ceil(lvl x / (y - lvl)), net = floor(dx (B - fee) / B)
            if lvl == 0:
                continue
            if fee_on_output:
                g = ceil_div(lvl * BPS, BPS - fee)
                if g >= y:
                    continue
                e = ceil_div(g * x, y - g)
            else:
                if lvl >= y:
                    continue
                m = ceil_div(lvl * x, y - lvl)
                e = ceil_div(m * BPS, BPS - fee)
        else:
            # cost(dy) <= lvl <=> net(dy) <= m = floor(lvl (B - fee) / B)
            #                 <=> dy <= floor(m x / (y + m))
            m = div_c(lvl * (BPS - fee), BPS)
            e = div_c(m * x, y + m)
        if 0 < e <= cap:
            out[n] = e
            n += 1
    return n
