"""The mock chain's ledger in SQL (table chain_transactions, migration 0010): the rows the
group commit writes (service/store/batch.py runs UPSERT_TRANSACTIONS in the batch's
transaction) and the lookup by signature behind MockChain.signature_statuses.

Rows come in as dicts by column name (service/worker/changes.py builds them) and come back
as named tuples; times as epoch seconds (float8), the clock the mock chain keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row

from service.store.fencing import WORKER_APP

# One row per signature of the batch (a transaction sent and landed in the same batch comes
# as one row). A landing of a transaction sent in an earlier batch updates its row; what
# landed stays landed (a transaction lands once).
UPSERT_TRANSACTIONS = (
    "INSERT INTO chain_transactions (signature, order_id, attempt, sent_at, valid_until,"
    " landed_at, slot, outcome)"
    " SELECT signature, order_id, attempt, to_timestamp(sent_at), to_timestamp(valid_until),"
    " landed_at, slot, outcome FROM json_to_recordset(%s::json) AS t(signature text,"
    " order_id uuid, attempt integer, sent_at float8, valid_until float8,"
    " landed_at timestamptz, slot bigint, outcome text)"
    " ON CONFLICT (signature) DO UPDATE SET"
    " landed_at = COALESCE(chain_transactions.landed_at, EXCLUDED.landed_at),"
    " slot = COALESCE(chain_transactions.slot, EXCLUDED.slot),"
    " outcome = COALESCE(chain_transactions.outcome, EXCLUDED.outcome)"
)
SELECT_BY_SIGNATURES = (
    "SELECT signature, extract(epoch FROM valid_until)::float8 AS valid_until,"
    " extract(epoch FROM landed_at)::float8 AS landed_at, slot, outcome"
    " FROM chain_transactions WHERE signature = ANY(%s::text[])"
)


class ChainLedger:
    """The ledger as the mock chain reads it: one autocommit connection, opened on first use
    (a worker asks only when it takes over attempts in doubt) and again after a failure (the
    failed call raises; the caller asks again)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def transactions(self, signatures: Sequence[str]) -> dict[str, Any]:
        """The rows of these signatures (signature, valid_until, landed_at, slot, outcome),
        by signature, in one query; a signature never sent is absent."""
        if not signatures:
            return {}
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, row_factory=namedtuple_row, application_name=WORKER_APP
            )
        conn = self._conn
        try:
            cur = await conn.execute(SELECT_BY_SIGNATURES, (list(signatures),))
            return {row.signature: row for row in await cur.fetchall()}
        except psycopg.OperationalError:
            if self._conn is conn:
                self._conn = None
            await conn.close()
            raise

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
