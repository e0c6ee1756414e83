"""The WebSocket relay: Redis pub/sub in, one socket per client out, replays from PostgreSQL.

`order-engine relay` calls `service.relay.main.run(settings)`; tests start it in-process with
`RelayServer` or `serve_relay`.
"""

from service.relay.main import RelayServer, run, serve_relay

__all__ = ["RelayServer", "run", "serve_relay"]
