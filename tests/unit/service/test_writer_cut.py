"""The writer's batch cut: a batch never stores a pool whose later fills it leaves out."""

from __future__ import annotations

from typing import Any, cast

from service.worker.changes import Change, cut


def changes(*pools: tuple[str, ...]) -> list[Change]:
    return [Change(cast(Any, None), "confirmed", i, {}, pools=p) for i, p in enumerate(pools)]


def test_cut_no_later_pool_change_of_the_batch_takes_the_maximum() -> None:
    queue = changes(("A",), (), ("B",), ())
    assert cut(queue, (), 2) == 2


def test_cut_later_change_moving_a_pool_of_the_batch_is_taken_with_it() -> None:
    queue = changes(("A",), (), (), ("A",), ())
    assert cut(queue, (), 2) == 4


def test_cut_extension_that_brings_a_new_pool_follows_it_too() -> None:
    queue = changes(("A",), (), ("A",), ("B",), (), ("B",), ("C",))
    # the first A pulls in up to index 2; nothing of B in the prefix yet: stops there
    assert cut(queue, (), 1) == 3
    queue = changes(("A",), (), ("A", "B"), (), ("B",), ("C",))
    assert cut(queue, (), 1) == 5


def test_cut_touched_market_takes_every_queued_change_of_its_pools() -> None:
    queue = changes((), (), ("T",), ())
    assert cut(queue, ("T",), 1) == 3
    assert cut(queue, (), 1) == 1


def test_cut_short_queue_is_taken_whole() -> None:
    assert cut(changes((), ("A",)), (), 512) == 2
