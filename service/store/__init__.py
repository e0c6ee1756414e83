"""PostgreSQL, and all the SQL of the service: migrations, connection pools, and the queries of
each reader and writer (orders.py the API's, worker.py and batch.py the workers', events.py the
relay's replay, pools.py the venues' state). Rows are read by column name.

May import: `engine_core`, `service.domain`, psycopg. Never a process package (worker, api,
relay, runtime): they call the store, not the other way round.
"""
