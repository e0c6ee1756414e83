"""max_fill_within_limit past the venues' input-fee steps: worked cases where the amounts
that fit are not one interval (a split fits, then only one venue alone further on), each
checked against every amount's best route."""

from __future__ import annotations

from engine_core.amm import CpmmPool
from engine_core.limits import max_fill_within_limit
from engine_core.router import best_route


def test_max_fill_past_a_split_to_one_venue_alone():
    """Input fees' steps (hypothesis seed 33): a 2-cpmm sell fits at 301 split (101 + 200),
    not from 302 to 329, and again from 330 to 333 all on venue b (a's first unit pays its
    fee whole: dropping a fits further); the largest fitting amount is 333."""
    pools = {
        "a": CpmmPool(13063, 1649851, 20, "input"),
        "b": CpmmPool(37734, 4905420, 300, "input"),
    }
    limit = 125

    def fits_at(a):
        return best_route(pools, "sell", a).quote_amount >= limit * a

    assert fits_at(301) and not any(fits_at(a) for a in range(302, 330))
    assert all(fits_at(a) for a in range(330, 334)) and not fits_at(334)
    assert len(best_route(pools, "sell", 301).legs) == 2
    assert not any(fits_at(a) for a in range(334, 654))
    route = max_fill_within_limit(pools, "sell", 653, limit, 0)
    assert route == best_route(pools, "sell", 333)
    assert [leg.venue for leg in route.legs] == ["b"]


def test_max_fill_past_a_split_whose_other_leg_has_no_steps():
    """3 cpmm, a sell (4 decimals): 301 fits split (300 on a, whose 300 bps input fee steps
    at every 33 units, and 1 on b, fee 0), so do 327 .. 333 and 364 .. 366 all on a,
    nothing from 367; a alone is sized although b has no steps (a has)."""
    pools = {
        "a": CpmmPool(94277, 89340015, 300, "input"),
        "b": CpmmPool(63169, 42715628, 0, "output"),
        "c": CpmmPool(71663, 61858747, 25, "input"),
    }
    limit = 9155273
    fitting = [
        a for a in range(1, 1500) if best_route(pools, "sell", a).quote_amount * 10**4 >= limit * a
    ]
    assert fitting[-10:] == [327, 328, 329, 330, 331, 332, 333, 364, 365, 366]
    assert len(best_route(pools, "sell", 301).legs) == 2
    route = max_fill_within_limit(pools, "sell", 1500, limit, 4)
    assert route == best_route(pools, "sell", 366)
