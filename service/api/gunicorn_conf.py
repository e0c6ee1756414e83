"""gunicorn settings for the API; PORT, API_WORKERS and API_THREADS come from the environment.

preload_app stays off: connections and pools are created after the fork (psycopg docs).

reuse_port: each gunicorn process opens its own listening socket with SO_REUSEPORT, so the
kernel spreads new connections over the processes by hash. With one shared socket, the
keep-alive connections of a client pool all landed on the process that woke first (one
API process used 3.8 s of CPU, the other 0.3 s, in a REST bench): the API used one core.
"""

import os

from service.metrics.exposition import mark_dead

# 127.0.0.1 unless HOST says otherwise (compose sets 0.0.0.0 behind its front)
host = os.environ.get("HOST", "").strip() or "127.0.0.1"
bind = f"{host}:{os.environ.get('PORT', '3000')}"
workers = int(os.environ.get("API_WORKERS") or os.cpu_count() or 1)
worker_class = "gthread"
threads = int(os.environ.get("API_THREADS") or 8)
preload_app = False
reuse_port = True
keepalive = 30
graceful_timeout = 20
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "order-engine-api"


def when_ready(server):  # noqa: ANN001 - gunicorn hook signature
    where = "this machine only" if host in ("127.0.0.1", "::1", "localhost") else "the network"
    server.log.info("API listening on %s (HOST=%s: reachable from %s)", bind, host, where)


def child_exit(server, worker):  # noqa: ANN001 - gunicorn hook signature
    mark_dead(worker.pid)
