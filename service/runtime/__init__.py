"""Running the engine: the `order-engine` CLI, the `up` supervisor, the embedded PostgreSQL
and Valkey, logging set-up.

May import every other part of `service` (it wires them); nothing imports it but
`service/__main__.py` and the tests.
"""
