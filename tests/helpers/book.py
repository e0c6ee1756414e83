"""A Book built from rows, for the Book tests."""

from __future__ import annotations

from engine_core.book import Book


def book_of(*orders):
    """Book from (handle, side, price, remaining, client) rows, seq = arrival order."""
    b = Book()
    for h, side, price, rem, client in orders:
        b.add(h, side, price, rem, client)
    return b
