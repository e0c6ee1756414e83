"""Tally (service/metrics): deferred counter and histogram writes add up to what the writes
one at a time would have left, bucket by bucket."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from service.metrics import Tally, observe_many


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def _pair() -> tuple[CollectorRegistry, Counter, Histogram]:
    r = CollectorRegistry()
    c = Counter("t_orders", "orders", ["side"], registry=r)
    h = Histogram("t_age", "age", ["side"], buckets=(0.1, 0.5, 1.0, 5.0), registry=r)
    return r, c, h


VALUES = [0.0, 0.05, 0.1, 0.1000001, 0.5, 0.7, 1.0, 3.0, 5.0, 5.5, 100.0, 0.2]


def test_deferred_writes_equal_the_writes_one_at_a_time() -> None:
    r1, c1, h1 = _pair()
    for v in VALUES:
        c1.labels("buy").inc()
        h1.labels("buy").observe(v)
    c1.labels("sell").inc(2)
    r2, c2, h2 = _pair()
    t = Tally()
    with t.deferred():
        for v in VALUES:
            t.inc(c2.labels("buy"))
            t.observe(h2.labels("buy"), v)
        t.inc(c2.labels("sell"), 2)
        with t.deferred():  # nested: written once, at the outer end
            t.inc(c2.labels("sell"))
        assert _samples(r2)[("t_orders_total", (("side", "sell"),))] == 0
    c1.labels("sell").inc()
    got, want = _samples(r2), _samples(r1)
    assert got.keys() == want.keys()
    for key, value in want.items():  # the sum added up at once: equal to the last bits
        assert got[key] == (pytest.approx(value) if key[0].endswith("_sum") else value), key
    assert _samples(r2)[("t_age_count", (("side", "buy"),))] == len(VALUES)


def test_written_through_outside_deferred_and_flushed_when_the_pass_raises() -> None:
    r, c, h = _pair()
    t = Tally()
    t.inc(c.labels("buy"))
    assert _samples(r)[("t_orders_total", (("side", "buy"),))] == 1
    try:
        with t.deferred():
            t.observe(h.labels("buy"), 0.3)
            raise RuntimeError("crash mid-pass")
    except RuntimeError:
        pass
    assert _samples(r)[("t_age_bucket", (("le", "0.5"), ("side", "buy")))] == 1


def test_observe_many_of_nothing_writes_nothing() -> None:
    r, _, h = _pair()
    before = _samples(r)
    observe_many(h.labels("buy"), [])
    assert _samples(r) == {**before, **_samples(r)}
    assert _samples(r).get(("t_age_count", (("side", "buy"),)), 0) == 0
