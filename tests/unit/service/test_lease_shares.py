"""How live pool members split the shards: each one's share, and the shards it takes first."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.worker.leases import preferred, share


@given(st.integers(1, 12), st.integers(1, 64))
def test_preferred_shards_are_disjoint_cover_all_and_match_each_share(n: int, shards: int) -> None:
    members = sorted(f"host-{i}" for i in range(n))
    sets = [preferred(members, m, shards) for m in members]
    assert set().union(*sets) == set(range(shards))
    assert sum(len(s) for s in sets) == shards  # disjoint
    assert [len(s) for s in sets] == [share(members, m, shards) for m in members]


def test_a_member_not_listed_yet_counts_itself_in() -> None:
    assert preferred(["a", "c"], "b", 6) == {1, 4}
    assert share(["a", "c"], "b", 6) == 2


def test_two_workers_take_neighbouring_shards_apart() -> None:
    # the default markets hash to shards 4, 5, 5 and 6 of 8: split over both workers
    assert preferred(["w0", "w1"], "w0", 8) == {0, 2, 4, 6}
    assert preferred(["w0", "w1"], "w1", 8) == {1, 3, 5, 7}
