"""The router's split against brute force over every integer split (small pools, so every
split can be tried): never more than 1 quote unit worse, for 2 and 3 venues, cpmm and dlmm
(each in both fee modes), from dust to 10% of the reserves; and no pair of three venues
gains by re-splitting."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_core.amm import CpmmPool, InsufficientLiquidity
from engine_core.dlmm import DlmmPool, bin_id_for_price_x64
from engine_core.router import best_route
from engine_core.split import Venues
from tests.helpers.brute import best_pair, best_triple, pool_value

SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# the sell fee off the input (both venues' defaults: the cpmm's "input", the dlmm's InputOnly)
# or off the output (the cpmm's "output", the dlmm's OnlyY "quote")
FEE_MODES = pytest.mark.parametrize(
    ("mode", "dlmm_mode"), [("input", "input"), ("output", "quote")]
)


@st.composite
def cpmm(draw, price, mode):
    x = draw(st.integers(2_000, 200_000))
    drift = draw(st.floats(0.97, 1.03))
    fee = draw(st.sampled_from([0, 1, 20, 25, 30, 100, 300]))
    return CpmmPool(x, max(1, int(x * price * drift)), fee, mode)


@st.composite
def dlmm(draw, price, mode="input"):
    step = draw(st.sampled_from([10, 20, 50, 100]))
    active = bin_id_for_price_x64(int(price * draw(st.floats(0.97, 1.03)) * 2**64), step)
    per_bin = draw(st.integers(50, 5_000))
    return DlmmPool(
        step,
        active,
        draw(st.integers(3, 40)),
        per_bin,
        max(1, int(per_bin * price)),
        fee_bps=draw(st.sampled_from([0, 10, 20, 50])),
        fee_mode=mode,
    )


@st.composite
def venue_set(draw, k, mode, dlmm_mode):
    """k pools quoting about one price (quote units per base unit, 0.01 .. 1000); the cpmm
    ones with their sell fee in `mode`, the dlmm ones in `dlmm_mode` (where a base unit is
    worth many quote units, each step of an input fee costs that much: a staircase the split
    must see across)."""
    price = draw(st.sampled_from([0.01, 0.13, 1.0, 7.5, 100.0, 1000.0]))
    return [draw(st.one_of(cpmm(price, mode), dlmm(price, dlmm_mode))) for _ in range(k)]


def reserves(pool):
    return pool.base_reserve


def route_total(pools, side, n):
    r = best_route({f"v{i}": p for i, p in enumerate(pools)}, side, n)
    return r.quote_amount if side == "sell" else -r.quote_amount


@FEE_MODES
@SLOW
@given(st.data(), st.sampled_from(["sell", "buy"]), st.floats(0, 1))
def test_split_two_venues_within_one_unit_of_brute_force(mode, dlmm_mode, data, side, frac):
    pools = data.draw(venue_set(2, mode, dlmm_mode))
    top = max(1, min(reserves(p) for p in pools) // 10)
    n = data.draw(st.sampled_from([1, 2, 3, 7, max(1, int(top * frac)), top]))
    va, vb = (pool_value(p, side) for p in pools)
    try:
        brute, _ = best_pair(va, vb, n)
    except ValueError:
        return
    ours = route_total(pools, side, n)
    assert ours >= brute - 1, (ours, brute, side, n, [p.to_state() for p in pools])


@FEE_MODES
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(["sell", "buy"]), st.integers(1, 160))
def test_split_three_venues_within_one_unit_of_brute_force(mode, dlmm_mode, data, side, n):
    pools = data.draw(venue_set(3, mode, dlmm_mode))
    vs = [pool_value(p, side) for p in pools]
    try:
        brute = best_triple(*vs, n)
    except ValueError:
        return
    ours = route_total(pools, side, n)
    assert ours >= brute - 1, (ours, brute, side, n, [p.to_state() for p in pools])


@FEE_MODES
# three near-identical pools at price 1 (output mode) once gained 2 quote units by a pair's
# re-split 22 units away (main too): refine_c now scans every pair again after its rounds
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(["sell", "buy"]), st.floats(0, 1))
def test_split_three_venues_no_pair_gains_by_resplitting(mode, dlmm_mode, data, side, frac):
    pools = data.draw(venue_set(3, mode, dlmm_mode))
    n = max(1, int(min(reserves(p) for p in pools) // 10 * frac))
    v = Venues(pools, side)
    try:
        alloc = v.allocate(n)
    except InsufficientLiquidity:
        return
    vs = [pool_value(p, side) for p in pools]
    for i in range(3):
        for j in range(i + 1, 3):
            t = alloc[i] + alloc[j]
            if t == 0:
                continue
            pair, _ = best_pair(vs[i], vs[j], t)
            assert vs[i](alloc[i]) + vs[j](alloc[j]) >= pair - 1


def test_split_walks_past_a_dlmm_bin_edge_to_the_next_one():
    """Found by the three-venue property: the active bin's last unit pays half (the bin
    takes it whole), so the best split lies a whole bin further on; the walk along the
    DLMM's bin edges asked for edges up to the one it stood on and saw none beyond."""
    cpmm = CpmmPool(16050, 1630078, 0)
    dlmm = DlmmPool(10, 4628, 3, 50, 5000, fee_bps=0, fee_mode="quote")
    brute, _ = best_pair(pool_value(cpmm, "sell"), pool_value(dlmm, "sell"), 103)
    assert brute == 10435
    assert route_total([cpmm, dlmm], "sell", 103) == brute


def test_split_sets_two_staircases_in_phase_where_a_base_unit_is_worth_under_a_quote_unit():
    """Found by bench.micro.shortfall: a buy at 0.15 quote units per base unit, where each
    venue's cost steps by one quote unit every ~6.7 base units and the two venues' steps ran
    in phase around the marginal optimum; the best split (-139_475, by brute force over every
    split of the 912_664 units) sets them out of phase ~20 units further on. The edges of
    the steps (CpmmPool.breaks) let the split try it."""
    pools = [CpmmPool(515_327_798, 76_294_647, 300), CpmmPool(386_136_601, 58_825_004, 25)]
    assert route_total(pools, "buy", 912_664) >= -139_475 - 1


def test_split_scans_the_jagged_top_where_a_unit_is_worth_just_under_a_quote_unit():
    """Found by the two-venue property (output mode): two equal pools at 0.98 quote units a
    base unit after their 3 % fee; the even split is 2 quote units short of the best, 17
    units away (refine_c scanned only where a unit is worth a whole quote unit)."""
    pools = [CpmmPool(18_260, 18_366, 300, "output"), CpmmPool(18_260, 18_366, 300, "output")]
    brute, _ = best_pair(pool_value(pools[0], "sell"), pool_value(pools[1], "sell"), 1826)
    assert brute == 1696
    assert route_total(pools, "sell", 1826) >= brute - 1


def test_split_sees_an_input_only_dlmm_fee_step_below_its_bin_edge():
    """Found with InputOnly the default (random pairs): the split stood at the second
    DLMM's active bin less one unit (2060 of 2061); the best has it at its fee step 60 units
    below (2000: the 2001st unit is all fee), 719 quote units more. breaks_c now lists an
    InputOnly sell's fee steps with its bins' edges."""
    a = DlmmPool(20, 3444, 31, 4366, 4366000, fee_bps=20)
    b = DlmmPool(10, 6889, 26, 4024, 4024000, fee_bps=10)
    assert a.fee_mode == b.fee_mode == "input"
    brute, x = best_pair(pool_value(a, "sell"), pool_value(b, "sell"), 2200)
    assert (brute, x) == (2147907, 200)
    assert route_total([a, b], "sell", 2200) == brute


def test_split_climbs_from_a_step_edge_to_the_top_of_its_stretch():
    """Two staircases (a cpmm's input fee every 333 units, an InputOnly DLMM's every ~940):
    the pair's moves stopped at the cpmm's edge (1000), the jump to the DLMM's nearest edge
    (6628) was better but 129 units from the top of that stretch between steps (6499), 59
    quote units: the moves climb again after a jump."""
    cpmm = CpmmPool(182404, 179871448, 30)
    dlmm = DlmmPool(20, 3446, 28, 3087, 3087000, fee_bps=10)
    brute, x = best_pair(pool_value(cpmm, "sell"), pool_value(dlmm, "sell"), 7661)
    assert (brute, x) == (7467276, 1162)
    assert route_total([cpmm, dlmm], "sell", 7661) >= brute - 1
