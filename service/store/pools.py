"""The venues' pool state, one row per (market, venue); the owning worker writes it with
each fill, the API reads it for /markets."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from engine_core.pools import make_pool
from service.domain.markets import Market


def config_digest(m: Market) -> str:
    """What of a market's markets.toml entry is stored when it is seeded (tokens, reference
    price, launched, venues and their liquidity), as a short sha256. Drift and volatility
    are read at every start and are not part of it."""
    seeded = [
        m.symbol,
        [m.base.symbol, m.base.decimals, m.quote.symbol, m.quote.decimals],
        str(m.reference_price),
        m.launched,
        [[v.venue, v.kind, sorted(v.params.items())] for v in m.venues],
    ]
    return hashlib.sha256(json.dumps(seeded).encode()).hexdigest()[:16]


def ensure_pools(conn: psycopg.Connection[Any], markets: dict[str, Market]) -> None:
    """Insert each configured market and pool at its starting state, unless it exists."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO markets (symbol, reference_price, launched, config_digest)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (symbol) DO NOTHING",
            [(m.symbol, m.reference_price, m.launched, config_digest(m)) for m in markets.values()],
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


def changed_markets(conn: psycopg.Connection[Any], markets: dict[str, Market]) -> list[str]:
    """Markets whose stored seed differs from the file now (their pools and prices in
    PostgreSQL came from another markets.toml). A market stored before digests were kept
    adopts the file's digest."""
    conn.execute(
        "UPDATE markets SET config_digest = d.digest"
        " FROM json_to_recordset(%s::json) AS d(symbol text, digest text)"
        " WHERE markets.symbol = d.symbol AND markets.config_digest IS NULL",
        (json.dumps([{"symbol": s, "digest": config_digest(m)} for s, m in markets.items()]),),
    )
    stored = {
        row["symbol"]: row["config_digest"]
        for row in conn.cursor(row_factory=dict_row).execute(
            "SELECT symbol, config_digest FROM markets WHERE symbol = ANY(%s)", (list(markets),)
        )
    }
    return [s for s, m in markets.items() if s in stored and stored[s] != config_digest(m)]


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
