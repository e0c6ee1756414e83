"""`order-engine reset` / `up --fresh`: start the simulated market again.

Empties every table of the engine's schema but the migration log (orders, events, fills,
attempts, markets, pools, whatever later migrations add) and unlinks every Redis key under
the engine's prefix (streams, consumer groups, leases, rate-limit keys). The next start
seeds markets and pools from the markets file as on a fresh install. Run it with the engine
stopped: the embedded servers' lock refuses it while an `up` uses them; with servers of your
own nothing can tell, so stop the API, workers and relay first.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql


def wipe_database(conninfo: str) -> list[str]:
    """TRUNCATE the engine's tables (in the connection's current schema); returns them."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        tables = [
            str(row[0])
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename <> 'schema_migrations' ORDER BY tablename"
            )
        ]
        if tables:
            conn.execute(
                sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(t) for t in tables)
                )
            )
    return tables


def wipe_redis(url: str, prefix: str, cluster: bool = False) -> int:
    """Unlink every key under `prefix:`; returns how many (on a Redis Cluster: of every
    node, the keys unlinked slot by slot)."""
    from service.store.redis_client import sync_client

    client: Any = sync_client(url, cluster)
    try:
        count = 0
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                count += client.unlink(*batch)
                batch.clear()
        if batch:
            count += client.unlink(*batch)
        return count
    finally:
        client.close()
