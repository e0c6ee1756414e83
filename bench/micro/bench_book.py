"""Book latency with 100,000 resting orders: the price move that makes 1,000 of them
executable, one internal match, and a rebuild after a restart.

Run: pytest bench/bench_book.py --benchmark-enable -p no:cacheprovider
"""

from __future__ import annotations

import random

import pytest

from engine_core.book import Book

N = 100_000  # resting orders, half buys, half sells
PER_LEVEL = 10  # orders per price level
STEP = 10_000  # 0.01 USDC between levels (price_raw, USDC 6 decimals)
TOP_BID = 150_000_000  # 150.00 USDC
TOP_ASK = 150_010_000
REMAINING = 100


def rows():
    """(handle, side, price, remaining, client), in a shuffled arrival order."""
    out = []
    for i in range(N // 2):
        level = i // PER_LEVEL
        out.append((2 * i, "buy", TOP_BID - level * STEP, REMAINING, i % 1_000))
        out.append((2 * i + 1, "sell", TOP_ASK + level * STEP, REMAINING, i % 1_000))
    random.Random(7).shuffle(out)
    return out


ROWS = rows()


def full_book():
    b = Book()
    for h, side, price, rem, client in ROWS:
        b.add(h, side, price, rem, client)
    return b


@pytest.fixture(scope="module")
def book():
    return full_book()


@pytest.mark.benchmark(group="book_price_move")
def test_book_executable_1000_of_100k(benchmark, book):
    # the venue ask falls to the 100th bid level: 100 levels x 10 buys become executable;
    # the venue bid (below every ask) makes no sell executable
    ask = TOP_BID - 99 * STEP
    bid = TOP_BID - 200 * STEP
    handles = benchmark(book.executable, ask, bid)
    assert len(handles) == 1_000


@pytest.mark.benchmark(group="book_price_move")
def test_book_executable_none_of_100k(benchmark, book):
    handles = benchmark(book.executable, TOP_ASK, TOP_BID)
    assert handles == []


@pytest.mark.benchmark(group="book_match")
def test_book_match_one_maker_of_100k(benchmark, book):
    # an incoming buy of 1 unit at the best ask: one maker, partly filled
    def restore():
        for h, _, _ in book.crossing("buy", TOP_ASK, PER_LEVEL * REMAINING, -1):
            book.set_remaining(h, REMAINING)

    fills = benchmark.pedantic(
        book.match, ("buy", TOP_ASK, 1, -1), setup=restore, rounds=20_000, iterations=1
    )
    restore()
    assert len(fills) == 1 and fills[0][2] == 1


@pytest.mark.benchmark(group="book_match")
def test_book_match_sweep_100_makers_of_100k(benchmark, book):
    # an incoming buy that takes the 10 best ask levels whole (100 makers leave the book)
    qty = 10 * PER_LEVEL * REMAINING
    limit = TOP_ASK + 9 * STEP
    taken = book.crossing("buy", limit, qty, -1)
    saved = [(h, *book.get(h)) for h, _, _ in taken]

    def restore():
        for h, side, price, rem, client, seq in saved:
            if h not in book:
                book.add(h, side, price, rem, client, seq)

    fills = benchmark.pedantic(
        book.match, ("buy", limit, qty, -1), setup=restore, rounds=2_000, iterations=1
    )
    restore()
    assert len(fills) == 100 and len(book) == N


@pytest.mark.benchmark(group="book_rebuild")
def test_book_rebuild_100k(benchmark):
    b = benchmark.pedantic(full_book, rounds=5, iterations=1)
    assert len(b) == N
