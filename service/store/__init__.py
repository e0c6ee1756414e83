"""PostgreSQL: migrations, connection pools, and the queries of each table."""
