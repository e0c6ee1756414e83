"""The WebSocket relay: Redis pub/sub in, one socket per client out, replays from PostgreSQL.

`order-engine relay` calls `service.relay.main.run(settings)`; tests start it in-process with
`RelayServer` or `serve_relay`.

May import: `service.domain` (the wire format), `service.store` (replays), `service.auth`,
`service.config`, `service.errors`, `service.metrics`, websockets. Never `service.api` or
`service.worker`, nor `service.runtime`.
"""

from service.relay.main import RelayServer, run, serve_relay

__all__ = ["RelayServer", "run", "serve_relay"]
