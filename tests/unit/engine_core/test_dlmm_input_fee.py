"""DlmmPool's fee modes against an independent integer reference of Meteora's quote.rs
(tests/helpers/dlmm_ref.py): InputOnly ("input", the default) and OnlyY ("quote"), buys and
sells, exact in and exact out, across many bins; and the invariants of the input fee."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_core.amm import InsufficientLiquidity
from engine_core.dlmm import DlmmPool, bin_id_for_price_x64, bin_price_x64
from engine_core.pools import DLMM_FEE_MODE, make_pool, pool_from_state
from service.domain.markets import MarketsError, Token, _venue
from tests.helpers import dlmm_ref

U64 = 2**64 - 1


def small_pool(**kw):
    """Bins -2..2 at 1% steps; bin 0 (price exactly 1) holds 500 base + 500 quote; InputOnly
    unless told."""
    params = dict(fee_bps=10, variable_fee_control=40_000, max_volatility_accumulator=350_000)
    params.setdefault("fee_mode", "input")
    params.update(kw)
    return DlmmPool(100, 0, 2, 1000, 1000, **params)


def reference(pool, side, amount, exact_out=None):
    """(pair, result) of the reference swap on a copy of pool's state."""
    pair = dlmm_ref.pair_of(pool.to_state(), lambda k: bin_price_x64(k, pool.bin_step))
    sell = side == "sell"
    return pair, dlmm_ref.swap(pair, amount, sell, exact_out if exact_out is not None else False)


def fee_in_quote(pool, side, result):
    """The fee as the pool reports it: quote units; a sell's input fee at each bin's price."""
    if side == "sell" and pool.fee_mode == "input":
        return sum((f * p) >> 64 for p, f in result["per_bin"])
    return result["fee"]


def same_state(pool, pair, fees_base, fees_quote):
    bins = {k: (x, y) for k, x, y, _p in pool.bins()}
    assert bins == {k: (b[0], b[1]) for k, b in pair.bins.items()}
    assert (pool.active_id, pool.volatility_accumulator) == (
        pair.active_id,
        pair.volatility_accumulator,
    )
    assert (pool.index_reference, pool.volatility_reference) == (
        pair.index_reference,
        pair.volatility_reference,
    )
    assert (pool.fees_base, pool.fees_quote) == (fees_base, fees_quote)


# -- worked examples (small_pool: bin 0 at price 1, 500 quote; 0.1 % base fee) --


def test_dlmm_default_fee_mode_is_input_and_state_carries_it():
    assert DlmmPool(100, 0, 2, 1000, 1000).fee_mode == "input"  # Meteora's InputOnly
    pool = small_pool()
    assert pool.fee_mode == "input" and pool.to_state()["fee_mode"] == "input"
    old = small_pool(fee_mode="quote").to_state()
    del old["fee_mode"], old["fees_base"]  # a state stored before the fee modes
    assert pool_from_state(old).fee_mode == "quote"
    assert pool_from_state(old) == small_pool(fee_mode="quote")
    with pytest.raises(ValueError):
        small_pool(fee_mode="output")


def test_dlmm_input_sell_inside_one_bin_takes_the_fee_off_the_base():
    # 400 base: fee ceil(400 * 0.001) = 1 base, 399 swapped at price 1
    pool = small_pool()
    assert pool.sell(400) == (399, 1)
    assert (pool.fees_base, pool.fees_quote) == (1, 0)
    assert pool.bins()[2][1:3] == (500 + 399, 500 - 399)
    assert pool.base_reserve == 2500 + 400


def test_dlmm_input_sell_one_unit_past_a_bin_is_absorbed_by_it():
    # 501: fee ceil(0.501) = 1, net 500 = the whole bin: the bin takes all 501 and the swap
    # ends there (quote.rs: amount_left = 0), the active bin does not move
    pool = small_pool()
    assert pool.sell(501) == (500, 1)
    assert pool.active_id == 0 and pool.fees_base == 1


def test_dlmm_input_sell_two_units_past_a_bin_goes_on_to_the_next():
    # 502: net 501 > 500: bin 0 takes 500 + compute_fee(500) = 501, 1 unit goes on to bin -1
    # where ceil(1 * 0.0014) = 1 is all fee: 500 out, 2 base of fee (1 quote at bin 0's price)
    pool = small_pool()
    assert pool.sell(502) == (500, 1)
    assert pool.active_id == -1 and pool.fees_base == 2


def test_dlmm_input_buy_is_the_same_as_quote_mode():
    # a buy's fee is on its input (the quote) in both modes
    assert small_pool().quote_buy(700) == small_pool(fee_mode="quote").quote_buy(700) == (704, 2)


def test_dlmm_fee_mode_from_markets_and_make_pool():
    base, quote = Token("SOL", 9), Token("USDC", 6)
    raw = {"kind": "dlmm", "bin_step": 10, "active_id": 0, "bins_each_side": 2,
           "base_per_bin": "1", "quote_per_bin": "1", "fee_mode": "quote"}  # fmt: skip
    cfg = _venue("meteora", raw, base, quote, "v")
    assert cfg.params["fee_mode"] == "quote"
    assert make_pool("dlmm", cfg.params).fee_mode == "quote"
    del raw["fee_mode"]
    unset = _venue("meteora", raw, base, quote, "v")
    assert "fee_mode" not in unset.params  # the seeded config's digest stays the file's
    assert make_pool("dlmm", unset.params).fee_mode == DLMM_FEE_MODE == "input"
    with pytest.raises(MarketsError):
        _venue("meteora", {**raw, "fee_mode": "output"}, base, quote, "v")


# -- against the reference --

pools = st.builds(
    DlmmPool,
    bin_step=st.sampled_from([1, 10, 25, 100]),
    active_id=st.integers(-2000, 2000),
    bins_each_side=st.integers(0, 30),
    base_per_bin=st.one_of(st.integers(0, 10**6), st.integers(0, 10**15)),
    quote_per_bin=st.one_of(st.integers(0, 10**6), st.integers(0, 10**15)),
    fee_bps=st.integers(0, 1000),
    variable_fee_control=st.integers(0, 1_000_000),
    max_volatility_accumulator=st.integers(0, 500_000),
    filter_period=st.sampled_from([0, 30]),
    decay_period=st.sampled_from([30, 600]),
    fee_mode=st.sampled_from(["input", "quote"]),
)
amounts = st.one_of(st.integers(1, 3000), st.integers(1, 10**17))
ops = st.lists(
    st.tuples(st.sampled_from(["sell", "buy", "buy_in", "clock"]), amounts, st.integers(0, 20)),
    min_size=1,
    max_size=6,
)


def across_bins(pool, op, amount, nbins):
    """`amount`, or about `nbins` bins' worth of the side `op` takes, plus amount % 1000."""
    if nbins == 0:
        return amount
    if op == "sell":
        per = max(-(-(y << 64) // p) for _, _x, y, p in pool.bins())
    elif op == "buy":
        per = max(x for _, x, _y, _p in pool.bins())
    else:
        per = max(-(-(x * p) >> 64) for _, x, _y, p in pool.bins())
    return nbins * per + amount % 1000 + 1


def check_op(pool, op, amount):
    """The pool's quote and swap of (op, amount) equal the reference's, state included."""
    fees_b, fees_q = pool.fees_base, pool.fees_quote
    side = "sell" if op == "sell" else "buy"
    if amount > U64:
        return
    try:
        pair, ref = reference(pool, side, amount, exact_out=op == "buy")
    except dlmm_ref.OutOfLiquidity:
        ref = None
    # the pool refuses what would not fit 64 bits (a bin, or the total paid)
    overflow = ref is not None and (
        max(ref["in"], ref["out"]) > U64 or any(max(b[0], b[1]) > U64 for b in pair.bins.values())
    )
    if op == "buy_in":
        if ref is None or overflow:
            return
        assert pool.quote_buy_exact_in(amount) == (ref["out"], ref["fee"])
        return
    quote = pool.quote_sell if side == "sell" else pool.quote_buy
    apply = pool.sell if side == "sell" else pool.buy
    if ref is None or overflow:
        with pytest.raises(InsufficientLiquidity):
            quote(amount)
        return
    fee = fee_in_quote(pool, side, ref)
    got = (ref["out"], fee) if side == "sell" else (ref["in"], fee)
    assert quote(amount) == got
    assert apply(amount) == got
    if side == "sell" and pool.fee_mode == "input":
        fees_b += ref["fee"]
    else:
        fees_q += ref["fee"]
    same_state(pool, pair, fees_b, fees_q)


@settings(max_examples=400, deadline=None)
@given(pools, ops)
def test_dlmm_swaps_equal_the_reference(pool, ops):
    for op, amount, nbins in ops:
        if op == "clock":
            pool.set_clock(pool.clock + amount % 700)
            continue
        check_op(pool, op, across_bins(pool, op, amount, nbins))


@settings(max_examples=300, deadline=None)
@given(pools, st.integers(0, 40), st.integers(-3, 3), st.sampled_from(["sell", "buy"]))
def test_dlmm_swaps_at_bin_edges_equal_the_reference(pool, nbins, delta, side):
    """The amounts a few units either side of a whole number of bins (the fee's staircase
    and the absorbed unit live there)."""
    cap = pool.sell_capacity() if side == "sell" else pool.buy_capacity()
    edge = 0
    for k, x, y, p in sorted(pool.bins(), reverse=side == "sell"):
        if nbins == 0:
            break
        if (k <= pool.active_id and y) if side == "sell" else (k >= pool.active_id and x):
            d = -(-(y << 64) // p) if side == "sell" else x
            if side == "sell" and pool.fee_mode == "input":
                r = pool.fee_rate(k)
                d += -(-d * r // (10**9 - r))
            edge += d
            nbins -= 1
    amount = edge + delta
    if 0 < amount <= cap + 2:
        check_op(pool, side, amount)


# -- invariants of the input fee --


@settings(max_examples=300, deadline=None)
@given(pools, amounts, st.sampled_from(["sell", "buy"]))
def test_dlmm_input_fee_pool_never_loses_value(pool, amount, side):
    """Fee >= 0; reserves move by exactly the trade; the bins' value P*x + y never falls;
    a buy gives exactly the base asked and its cost buys at least that."""
    before = sum(p * x + (y << 64) for _, x, y, p in pool.bins())
    base0, quote0 = pool.base_reserve, pool.quote_reserve
    cap = pool.sell_capacity() if side == "sell" else pool.buy_capacity()
    amount = min(amount, cap)
    if side == "sell":
        out, fee = pool.sell(amount)
        assert (pool.base_reserve, pool.quote_reserve) == (base0 + amount, quote0 - out)
    else:
        spend = pool.quote_buy(amount)[0]
        assert pool.quote_buy_exact_in(spend)[0] >= amount
        cost, fee = pool.buy(amount)
        assert (pool.base_reserve, pool.quote_reserve) == (base0 - amount, quote0 + cost)
    assert fee >= 0 and pool.fees_base >= 0
    assert sum(p * x + (y << 64) for _, x, y, p in pool.bins()) >= before


@settings(max_examples=300, deadline=None)
@given(pools, st.integers(0, 10**16), st.integers(1, 10**6))
def test_dlmm_input_more_in_more_out_and_capacity_is_exact(pool, a, extra):
    cap = pool.sell_capacity()
    a, b = min(a, cap), min(a + extra, cap)
    assert pool.quote_sell(b)[0] >= pool.quote_sell(a)[0]
    if cap < U64:
        pool.copy().sell(cap)
        with pytest.raises(InsufficientLiquidity):
            pool.quote_sell(cap + 1)


@settings(max_examples=200, deadline=None)
@given(pools, st.integers(1, 60))
def test_dlmm_amount_to_bin_is_the_smallest_sell_reaching_the_bin(pool, down):
    target = max(pool.active_id - down, pool.lo_id)
    side, amount = pool.amount_to_bin(target)
    if side != "sell" or amount == 0 or amount > pool.sell_capacity():
        return
    bins = {k: y for k, _x, y, _p in pool.bins()}
    moved = pool.copy()
    moved.sell(amount)
    if bins[target]:
        assert moved.active_id == target
        short = pool.copy()
        short.sell(amount - 1)
        assert short.active_id > target


# -- the step edges the searches walk (breaks_c) --


@st.composite
def staircase_pools(draw):
    """Small InputOnly pools where a base unit is worth 7 .. 1000 quote units (so the
    output moves by at least one unit per net base unit: it stops only at the fee's steps
    and the bins' ends), fees up to the 10% cap."""
    price = draw(st.sampled_from([7.5, 100.0, 1000.0]))
    step = draw(st.sampled_from([10, 50, 100]))
    per = draw(st.integers(50, 3_000))
    return DlmmPool(
        step,
        bin_id_for_price_x64(int(price * 2**64), step),
        draw(st.integers(1, 6)),
        per,
        int(per * price),
        fee_bps=draw(st.sampled_from([0, 10, 20, 100])),
        variable_fee_control=draw(st.sampled_from([0, 40_000, 4_000_000])),
        filter_period=0,
    )


@settings(max_examples=60, deadline=None)
@given(staircase_pools(), st.data())
def test_dlmm_input_breaks_list_every_step_edge_between_the_first_and_the_last(pool, data):
    """A sell's breaks: up to 4 amounts below `a` and 4 from it on, and every amount between
    the lowest and the highest where one more base unit adds nothing (a fee step's last
    amount, a bin's total) is among them: a walk from one window to the next misses none."""
    cap = pool.sell_capacity()
    out = [0] + [pool.quote_sell(x)[0] for x in range(1, cap + 1)]
    flat = {x for x in range(1, cap) if out[x + 1] == out[x]}
    for a in data.draw(st.lists(st.integers(1, cap), min_size=1, max_size=8)):
        br = pool.breaks("sell", a)
        assert len(set(br)) == len(br) <= 8
        assert sum(e < a for e in br) <= 4 and sum(e >= a for e in br) <= 4
        assert [x for x in flat if min(br) <= x <= max(br) and x not in br] == []
        if pool.fee_bps:  # each bin's first unit all fee: its start (the last total) is flat
            ends = flat | {cap}
            assert set(br) <= ends | {e - 1 for e in ends}  # or a bin's total - 1
