"""Orders, events and fills as the API reads and writes them (sync psycopg pool).

Every statement binds its parameters; column lists are constants of this module.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from service.domain.cursor import Position

ORDER_COLUMNS = (
    "id, client_id, client_order_id, idem_key, request_hash, symbol, side, type,"
    " time_in_force, amount, limit_price, expires_at, slippage_bps, status, filled,"
    " quote_amount, fees, route, tx_hash, attempts, failure_reason, seq, created_at, updated_at,"
    " quote_target"
)

# The order and its first event (seq 1, pending) for a whole batch of orders (the API's
# group commit): one statement, one round trip, one commit for every request waiting on it.
# The rows come as ONE json parameter
# (orjson here, json_to_recordset on the server; psycopg's array dumper costs far more).
# Rows come back for the orders inserted; an order whose (client_id, idem_key) exists
# already (or came earlier in this batch) gets none. Arrival order decides which of two
# identical keys in one batch wins.
#
# The pending events get their positions in their shards' logs here, as the worker's do
# (service/store/batch.py INSERT_EVENTS): the API is a writer of every shard's log too, and
# takes the shard's `shard_offsets` row lock for the rest of this one-statement transaction.
# That lock is what keeps offsets in commit order between the API processes and the shard's
# worker; it is taken after the orders are inserted (the offsets are counted from the rows
# actually inserted, so an idempotent repeat takes none) and in shard order, as every
# writer takes it, so two writers never wait on each other in a cycle. (The other way, the
# worker numbering the pending event when it first handles the order, would leave a
# just-accepted order out of every cursor replay until then, and publish its pending event
# live before it had a position.)
INSERT_ORDERS = f"""
WITH input AS (
    SELECT * FROM ROWS FROM (json_to_recordset(%(rows)s::json) AS (id uuid, client_id text,
        client_order_id text, idem_key text, request_hash text, symbol text, side text,
        type text, time_in_force text, amount bigint, limit_price bigint,
        expires_at timestamptz, slippage_bps integer, ts timestamptz, payload json,
        shard integer, quote_target bigint))
    WITH ORDINALITY AS t(id, client_id, client_order_id, idem_key, request_hash, symbol,
        side, type, time_in_force, amount, limit_price, expires_at, slippage_bps, ts, payload,
        shard, quote_target, ord)
), ins AS (
    INSERT INTO orders (id, client_id, client_order_id, idem_key, request_hash, symbol, side,
        type, time_in_force, amount, limit_price, expires_at, slippage_bps, status, seq,
        created_at, updated_at, quote_target)
    SELECT id, client_id, client_order_id, idem_key, request_hash, symbol, side, type,
        time_in_force, amount, limit_price, expires_at, slippage_bps, 'pending', 1, ts, ts,
        quote_target
    FROM input ORDER BY ord
    ON CONFLICT (client_id, idem_key) WHERE idem_key IS NOT NULL DO NOTHING
    RETURNING {ORDER_COLUMNS}
), e AS (
    SELECT ins.id, ins.client_id, ins.created_at, input.payload, input.shard, input.ord,
        row_number() OVER (PARTITION BY input.shard ORDER BY input.ord) AS k
    FROM ins JOIN input ON input.id = ins.id
), n AS (
    SELECT shard, count(*) AS n FROM e GROUP BY shard
), taken AS (
    INSERT INTO shard_offsets AS s (shard, last) SELECT shard, n FROM n ORDER BY shard
    ON CONFLICT (shard) DO UPDATE SET last = s.last + EXCLUDED.last
    RETURNING s.shard, s.last
), ev AS (
    INSERT INTO order_events (order_id, client_id, seq, status, ts, payload, shard,
        shard_offset)
    SELECT e.id, e.client_id, 1, 'pending', e.created_at, e.payload, e.shard,
        taken.last - n.n + e.k
    FROM e JOIN n USING (shard) JOIN taken USING (shard) ORDER BY e.ord
    RETURNING order_id, event_id, shard, shard_offset
)
SELECT ins.*, ev.event_id, ev.shard, ev.shard_offset FROM ins JOIN ev ON ev.order_id = ins.id
"""  # noqa: S608 - constant column list, values bound

SELECT_LANDED = (
    f"SELECT {ORDER_COLUMNS}, p.event_id, p.event_shard, p.event_offset"  # noqa: S608
    " FROM orders, LATERAL (SELECT e.event_id, e.shard AS event_shard,"
    " e.shard_offset AS event_offset FROM order_events e"
    " WHERE e.order_id = orders.id AND e.seq = 1) p"
    " WHERE orders.id = ANY(%s::uuid[])"
)

_RESTING = (
    "SELECT limit_price, amount - filled AS remaining FROM orders"
    " WHERE symbol = %(symbol)s AND status IN ('open', 'partially_filled')"
    " AND limit_price IS NOT NULL AND type <> 'market'"
)
RESTING_ASKS = (
    _RESTING + " AND side = 'sell' AND limit_price <= %(bound)s"
    " ORDER BY limit_price, created_at LIMIT 200"
)
RESTING_BIDS = (
    _RESTING + " AND side = 'buy' AND limit_price >= %(bound)s"
    " ORDER BY limit_price DESC, created_at LIMIT 200"
)

FAST_FAIL_WINDOW_S = 1.0
FAST_FAIL_TIMEOUT_S = 0.2

FILL_COLUMNS = "order_id, venue, amount, quote_amount, fee, tx_hash, ts"


class OrderStore:
    def __init__(self, conninfo: str, size: int = 8) -> None:
        self.pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=size,
            open=False,
            # No check on every checkout (a round trip each, 13 % of the API's time): a
            # connection PostgreSQL dropped fails its request once (503, fast-fail window),
            # and the pool discards it.
            kwargs={"autocommit": True},
            timeout=5.0,
        )
        self._down_until = 0.0

    def open(self) -> None:
        self.pool.open(wait=False)

    def close(self) -> None:
        self.pool.close()

    def _rows(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        # Right after PostgreSQL failed, don't let every request wait the pool's full
        # timeout: answer 503 fast for a second, then try for real again.
        timeout = FAST_FAIL_TIMEOUT_S if time.monotonic() < self._down_until else None
        try:
            with self.pool.connection(timeout) as conn, conn.cursor(row_factory=dict_row) as cur:
                cur.execute(query, params)  # type: ignore[arg-type]  # queries are constants
                return cur.fetchall()
        except psycopg.OperationalError:
            self._down_until = time.monotonic() + FAST_FAIL_WINDOW_S
            raise

    def _row(self, query: str, params: Any = None) -> dict[str, Any] | None:
        rows = self._rows(query, params)
        return rows[0] if rows else None

    def ping(self) -> None:
        with self.pool.connection(timeout=2.0) as conn:
            conn.execute("SELECT 1")

    # -- COMMANDS --
    def insert_many(
        self, batch: list[dict[str, Any]]
    ) -> list[tuple[dict[str, Any], Position] | None]:
        """`insert` for many orders in one statement and one transaction: for each, its row
        and its pending event's position, or None where its idempotency key exists (or
        repeats in the batch). Each dict carries `ts`, its acceptance time, and `shard`,
        its market's shard."""
        rows = self._rows(INSERT_ORDERS, {"rows": orjson.dumps(batch).decode()})
        by_id = {row["id"]: row for row in rows}
        out: list[tuple[dict[str, Any], Position] | None] = []
        for v in batch:
            row = by_id.pop(v["id"], None)
            if row is None:
                out.append(None)
                continue
            position = Position(row.pop("event_id"), row.pop("shard"), row.pop("shard_offset"))
            out.append((row, position))
        return out

    # -- QUERIES --
    def landed(self, ids: list[Any]) -> dict[str, tuple[dict[str, Any], Position]]:
        """After an insert whose answer was lost: the orders of these ids that are stored,
        with the position of their `pending` event, as insert_many returns them."""
        rows = self._rows(SELECT_LANDED, (ids,))
        return {
            str(r["id"]): (
                r,
                Position(r.pop("event_id"), r.pop("event_shard"), r.pop("event_offset")),
            )
            for r in rows
        }

    def by_idem_key(self, client_id: str, idem_key: str) -> dict[str, Any] | None:
        return self._row(
            f"SELECT {ORDER_COLUMNS} FROM orders WHERE client_id = %s AND idem_key = %s",  # noqa: S608
            (client_id, idem_key),
        )

    def get(self, order_id: str) -> dict[str, Any] | None:
        return self._row(
            f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = %s",  # noqa: S608
            (order_id,),
        )

    def fills(self, order_ids: list[Any]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {str(i): [] for i in order_ids}
        if not order_ids:
            return out
        for row in self._rows(
            f"SELECT {FILL_COLUMNS} FROM fills WHERE order_id = ANY(%s) ORDER BY id",  # noqa: S608
            (order_ids,),
        ):
            out[str(row["order_id"])].append(row)
        return out

    def list_orders(
        self,
        client_id: str | None,
        status: str | None,
        limit: int,
        cursor: tuple[datetime, str] | None,
    ) -> list[dict[str, Any]]:
        """Newest first; keyset pagination on (created_at, id)."""
        return self._rows(
            f"SELECT {ORDER_COLUMNS} FROM orders"  # noqa: S608
            " WHERE (%(client)s::text IS NULL OR client_id = %(client)s)"
            " AND (%(status)s::text IS NULL OR status = %(status)s)"
            " AND (%(c_ts)s::timestamptz IS NULL"
            "      OR (created_at, id) < (%(c_ts)s, %(c_id)s::uuid))"
            " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
            {
                "client": client_id,
                "status": status,
                "c_ts": cursor[0] if cursor else None,
                "c_id": cursor[1] if cursor else None,
                "limit": limit,
            },
        )

    def events(self, order_id: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT event_id, seq, status, ts, payload FROM order_events"
            " WHERE order_id = %s ORDER BY seq",
            (order_id,),
        )

    def pools(self) -> list[dict[str, Any]]:
        return self._rows("SELECT symbol, venue, kind, state FROM pools ORDER BY symbol, venue")

    def resting(self, symbol: str, taker_side: str, bound: int) -> list[tuple[int, int]]:
        """(limit price, remaining) of the resting orders a taker on `taker_side` would
        cross up to price `bound`, in price-time priority."""
        query = RESTING_ASKS if taker_side == "buy" else RESTING_BIDS
        rows = self._rows(query, {"symbol": symbol, "bound": bound})
        return [(r["limit_price"], r["remaining"]) for r in rows]

    def markets_state(self) -> list[dict[str, Any]]:
        return self._rows("SELECT symbol, reference_price, launched FROM markets")

    def pool_stats(self) -> dict[str, int]:
        stats = self.pool.get_stats()
        size = stats.get("pool_size", 0)
        idle = stats.get("pool_available", 0)
        return {"active": size - idle, "idle": idle, "waiting": stats.get("requests_waiting", 0)}


Unavailable = (psycopg.OperationalError, psycopg.errors.AdminShutdown)
