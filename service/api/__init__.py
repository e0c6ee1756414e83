"""The HTTP API (Falcon under gunicorn): accepts an order only once it is committed, reads
orders back, quotes, markets, health, metrics and the blotter page.

May import: `engine_core`, `service.domain`, `service.store`, `service.auth`,
`service.config`, `service.errors`, `service.metrics`. Never `service.worker` (commands reach
the workers over Redis, market_commands.py) or `service.relay`, nor `service.runtime`.
"""
