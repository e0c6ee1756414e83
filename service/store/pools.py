"""The venues' pool state, one row per (market, venue); the owning worker writes it with
each fill, the API reads it for /markets."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from engine_core.pools import make_pool
from service.markets import Market


def ensure_pools(conn: psycopg.Connection[Any], markets: dict[str, Market]) -> None:
    """Insert each configured pool at its starting liquidity, unless it exists already."""
    with conn.cursor() as cur:
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
