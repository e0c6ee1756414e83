"""The venues' pool state, one row per (market, venue); the owning worker writes it with
each fill, the API reads it for /markets."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from engine_core.pools import make_pool
from service.domain.markets import Market


def ensure_pools(conn: psycopg.Connection[Any], markets: dict[str, Market]) -> None:
    """Insert each configured market and pool at its starting state, unless it exists."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO markets (symbol, reference_price, launched) VALUES (%s, %s, %s)"
            " ON CONFLICT (symbol) DO NOTHING",
            [(m.symbol, m.reference_price, m.launched) for m in markets.values()],
        )
        cur.executemany(
            "INSERT INTO pools (symbol, venue, kind, state) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (symbol, venue) DO NOTHING",
            [
                (m.symbol, v.venue, v.kind, Jsonb(make_pool(v.kind, v.params).to_state()))
                for m in markets.values()
                if m.launched
                for v in m.venues
            ],
        )


def load_markets_state(
    conn: psycopg.Connection[Any], symbols: list[str]
) -> dict[str, tuple[Decimal, bool]]:
    """{symbol: (reference price, launched)}."""
    return {
        symbol: (ref, launched)
        for symbol, ref, launched in conn.execute(
            "SELECT symbol, reference_price, launched FROM markets WHERE symbol = ANY(%s)",
            (symbols,),
        )
    }


def load_pools(
    conn: psycopg.Connection[Any], symbols: list[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """{symbol: {venue: state}} for the given markets."""
    out: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in symbols}
    for symbol, venue, state in conn.execute(
        "SELECT symbol, venue, state FROM pools WHERE symbol = ANY(%s) ORDER BY symbol, venue",
        (symbols,),
    ):
        out[symbol][venue] = state
    return out
