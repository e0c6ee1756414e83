"""The worker's reads of PostgreSQL: its markets' live orders and pools at start, orders by id
as stream entries name them, the latest events to publish again, and `pending` orders that no
stream entry carries. (The worker's writes are the group commit's, in worker/writer.py.)

Rows come back as named tuples (`row.status`, `row.symbol`): still tuples, so
`LiveOrder.from_row` takes them as they are.
"""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from psycopg.rows import namedtuple_row
from psycopg.types.json import set_json_loads

from service.domain.markets import Market
from service.store.fencing import WORKER_APP
from service.store.pools import ensure_pools, load_markets_state, load_pools

# The order of LiveOrder.from_row. The id as text: it is a str in the worker, made by
# PostgreSQL, not via uuid.UUID.
LIVE_ORDER_COLUMNS = (
    "id::text, client_id, symbol, side, type, time_in_force, amount, limit_price, slippage_bps,"
    " status, seq, filled, quote_amount, fees, attempts, tx_hash, failure_reason, created_at,"
    " expires_at, quote_target"
)

SELECT_LIVE = (
    f"SELECT {LIVE_ORDER_COLUMNS} FROM orders"  # noqa: S608 - constant columns
    " WHERE symbol = ANY(%s) AND status = ANY(%s) ORDER BY created_at, id"
)
SELECT_BY_IDS = f"SELECT {LIVE_ORDER_COLUMNS} FROM orders WHERE id = ANY(%s::uuid[])"  # noqa: S608
# The last event of each order of these markets among the latest events (at most this many
# back, and this recent).
SELECT_LAST_EVENTS = (
    "SELECT DISTINCT ON (e.order_id) e.order_id, e.client_id, e.seq, e.status,"
    " e.ts, e.payload, e.event_id, e.shard, e.shard_offset FROM order_events e"
    " JOIN orders o ON o.id = e.order_id"
    " WHERE e.event_id > (SELECT coalesce(max(event_id), 0) FROM order_events) - %s"
    " AND e.ts > now() - make_interval(secs => %s) AND o.symbol = ANY(%s)"
    " ORDER BY e.order_id, e.seq DESC"
)
# loading a shard taken never waits longer than this on a lock
SET_TAKE_LOCK_TIMEOUT = "SET lock_timeout = '5s'"

SELECT_STALE_PENDING = (
    "SELECT id, symbol FROM orders WHERE status = 'pending' AND symbol = ANY(%s)"
    " AND created_at < now() - make_interval(secs => %s)"
    " ORDER BY created_at LIMIT 1000"
)


def load_worker_state(
    database_url: str, markets: dict[str, Market], symbols: list[str], live_statuses: list[str]
) -> tuple[Any, Any, Any, list[Any]]:
    """When a worker takes a shard (blocking; run in a thread): its markets' pools (created
    where missing) with their row versions, reference prices and launch flags, and live
    orders in time priority.

    Only these markets' rows are touched: another shard's pool rows may be locked by a
    transaction of an owner paused mid-commit (SIGSTOP), and even an INSERT ... DO NOTHING
    on them would wait for it. This shard's own rows cannot be: the epoch was advanced
    first, which ended or refused any earlier owner's transaction. SET_TAKE_LOCK_TIMEOUT turns
    any wait this misses into an error (the take is tried again next round)."""
    with psycopg.connect(
        database_url,
        autocommit=True,
        row_factory=namedtuple_row,
        application_name=WORKER_APP,
    ) as conn:
        conn.execute(SET_TAKE_LOCK_TIMEOUT)
        ensure_pools(conn, {s: markets[s] for s in symbols})
        live = conn.execute(SELECT_LIVE, (symbols, live_statuses)).fetchall()
        versions = {
            (symbol, venue): version
            for symbol, venue, version in conn.execute(
                "SELECT symbol, venue, version FROM pools WHERE symbol = ANY(%s)", (symbols,)
            )
        }
        return (
            load_pools(conn, symbols),
            versions,
            load_markets_state(conn, symbols),
            live,
        )


class WorkerStore:
    """One autocommit connection of the worker's, opened on first use and again after a
    failure (the failed call raises; the caller retries on its next round)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def _query(self, query: str, params: Any) -> list[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, row_factory=namedtuple_row, application_name=WORKER_APP
            )
            set_json_loads(orjson.loads, self._conn)  # the re-announced events' payloads
        conn = self._conn  # concurrent callers may replace it meanwhile
        try:
            cur = await conn.execute(query, params)
            return await cur.fetchall()
        except psycopg.OperationalError:
            if self._conn is conn:
                self._conn = None
            await conn.close()
            raise

    async def orders(self, ids: list[str]) -> dict[str, Any]:
        """The rows of these orders (LIVE_ORDER_COLUMNS) by id; unknown ids are absent."""
        rows = await self._query(SELECT_BY_IDS, (ids,))
        return {str(r.id): r for r in rows}

    async def last_events(self, symbols: list[str], events_back: int, seconds: int) -> list[Any]:
        """(order_id, client_id, seq, status, ts, payload, event_id, shard, shard_offset) of
        each order's last event."""
        return await self._query(SELECT_LAST_EVENTS, (events_back, seconds, symbols))

    async def stale_pending(self, symbols: list[str], older_than_s: float) -> list[Any]:
        """(id, symbol) of `pending` orders older than this, oldest first, at most 1,000."""
        return await self._query(SELECT_STALE_PENDING, (symbols, older_than_s))

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
