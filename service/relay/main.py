"""The relay process: one Redis pub/sub subscription in, WebSocket connections out.

    GET /ws?clientId=C[&cursor=X]                       every event of C's orders
    GET /api/orders/execute?orderId=ID[&fromSeq=N]      one order's events
    GET /healthz                                        200 "ok" while pub/sub is up

Query parameters, the API key and the order's owner are checked in `process_request`,
before the upgrade, so a bad request gets an HTTP status with the contract's error body.
"""

from __future__ import annotations

import asyncio
import collections
import http
import logging
import signal
import weakref
from urllib.parse import parse_qs, urlsplit

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.exceptions import RedisError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from service import metrics
from service.auth import KeyRing
from service.config import Settings
from service.errors import ApiError
from service.relay.handshake import (
    authenticate,
    client_target,
    describe,
    error_response,
    order_target,
    too_many_connections,
)
from service.relay.hub import DEFAULT_QUEUE_SIZE, Hub, Subscriber, Target, pump
from service.relay.sending import discard_incoming, sender
from service.relay.sequencer import keep_up
from service.store.events import Event, EventStore

log = logging.getLogger(__name__)

WS_PATH = "/ws"
ORDER_PATH = "/api/orders/execute"
HEALTH_PATH = "/healthz"

_BACKOFF_MAX = 5.0


class RelayServer:
    """The relay as an async context manager: `async with RelayServer(settings) as relay:`.

    Start order: PostgreSQL pool, the pub/sub subscription, the shard logs' heads (read
    after subscribing: every later event comes on pub/sub or from the catch-up), and only
    then the listening socket, so every accepted connection is behind the subscription.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        host: str | None = None,
        port: int | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        ping_timeout: float = 20.0,
        close_timeout: float = 5.0,
        start_timeout: float = 30.0,
    ) -> None:
        self.settings = settings
        self.host = settings.host if host is None else host
        self.requested_port = settings.ws_port if port is None else port
        self.queue_size = queue_size
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self.start_timeout = start_timeout
        self.hub = Hub()
        self.resubscribes = 0  # times pub/sub came back after a loss (tests wait on it)
        self._keys = KeyRing(settings.api_keys)  # sha256 digests only, constant-time lookup
        self._per_client: collections.Counter[str] = collections.Counter()
        self._targets: weakref.WeakKeyDictionary[ServerConnection, Target] = (
            weakref.WeakKeyDictionary()
        )
        self._owners: weakref.WeakKeyDictionary[ServerConnection, str] = weakref.WeakKeyDictionary()
        self._pool: AsyncConnectionPool | None = None
        self._redis: Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._server: Server | None = None
        self._subscribed = asyncio.Event()
        self._catch_up = asyncio.Event()  # set: the catch-up reads the shard heads now
        self._keeper: asyncio.Task[None] | None = None
        self._pubsub_up = False
        self._live = metrics.engine_ws_messages_total.labels(kind="live")
        self._replay = metrics.engine_ws_messages_total.labels(kind="replay")
        self.store: EventStore

    # -- lifecycle --

    async def __aenter__(self) -> RelayServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        try:
            self._pool = AsyncConnectionPool(
                self.settings.database_url,
                open=False,
                min_size=1,
                max_size=4,
                kwargs={"autocommit": True},
                check=AsyncConnectionPool.check_connection,
                name="relay",
            )
            await self._pool.open(wait=True, timeout=self.start_timeout)
            self.store = EventStore(self._pool)
            self._redis = Redis.from_url(
                self.settings.redis_url,
                client_name=self.settings.key("relay"),
                socket_keepalive=True,
                health_check_interval=30,
            )
            self._listener = asyncio.create_task(self._listen(), name="relay-pubsub")
            async with asyncio.timeout(self.start_timeout):
                await self._subscribed.wait()
                self.hub.start(await self.store.shard_heads())
            self._keeper = asyncio.create_task(
                keep_up(
                    self.hub.sequencer,
                    self.store,
                    self._deliver,
                    lambda: len(self.hub) > 0,
                    self._catch_up,
                ),
                name="relay-catch-up",
            )
            self._server = await serve(
                self._handler,
                self.host,
                self.requested_port,
                process_request=self._process_request,
                compression=None,
                ping_interval=20.0,
                ping_timeout=self.ping_timeout,
                close_timeout=self.close_timeout,
                max_size=65_536,
                server_header=None,  # no version banner
            )
        except BaseException:
            await self.close()
            raise
        mode = "with API keys" if self._keys else "OPEN (no API keys configured)"
        log.info("relay listening on %s:%d, %s", self.host, self.port, mode)

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # closes every connection with 1001
            try:
                async with asyncio.timeout(self.close_timeout + 1):
                    await server.wait_closed()
            except TimeoutError:
                for conn in server.connections:  # clients that stopped reading
                    conn.transport.abort()
                await server.wait_closed()
        for task in (self._keeper, self._listener):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._keeper = self._listener = None
        redis, self._redis = self._redis, None
        if redis is not None:
            await redis.aclose()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    # -- Redis pub/sub --

    def _deliver(self, event: Event) -> None:
        """One event the catch-up read from the store, handed on as the hub does a frame."""
        direct = self.hub.sent_direct
        self.hub.deliver(event)
        if self.hub.sent_direct != direct:
            self._live.inc(self.hub.sent_direct - direct)

    async def _listen(self) -> None:
        """Read the events channel forever; on a loss, reconnect with backoff and resync."""
        assert self._redis is not None
        channel = self.settings.events_channel
        delay = 0.1
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(channel)
                while True:
                    msg = await pubsub.get_message(timeout=1.0)
                    if msg is None:
                        continue
                    kind = msg["type"]
                    if kind == "message":
                        direct = self.hub.sent_direct
                        self.hub.dispatch(msg["data"])
                        if self.hub.sent_direct != direct:
                            self._live.inc(self.hub.sent_direct - direct)
                    elif kind == "subscribe":
                        # Also seen when redis-py reconnected by itself: messages may be lost.
                        self._on_subscribed(channel)
                        delay = 0.1
            except Exception as e:
                self._pubsub_up = False
                log.warning(
                    "redis pub/sub on %s lost (%s); reconnecting in %.1fs",
                    channel,
                    e,
                    delay,
                    exc_info=not isinstance(e, RedisError | OSError),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX)
            finally:
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    pass

    def _on_subscribed(self, channel: str) -> None:
        self._pubsub_up = True
        if not self._subscribed.is_set():
            self._subscribed.set()
            log.info("subscribed to %s", channel)
            return
        self.resubscribes += 1
        n = self.hub.resync()
        self._catch_up.set()  # what pub/sub lost meanwhile: from the store, by shard offset
        log.warning(
            "re-subscribed to %s; catching up from the store (%d order sockets)", channel, n
        )

    # -- HTTP: before the upgrade --

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        url = urlsplit(request.path)
        path = url.path.rstrip("/") or "/"
        if path == HEALTH_PATH:
            if self._pubsub_up:
                return connection.respond(http.HTTPStatus.OK, "ok\n")
            return error_response(
                ApiError(
                    503,
                    "dependency_unavailable",
                    "redis pub/sub is down",
                    headers={"Retry-After": "2"},
                )
            )
        if path not in (WS_PATH, ORDER_PATH):
            return error_response(
                ApiError(404, "not_found", f"no WebSocket endpoint at {url.path}")
            )
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            key_client = authenticate(self._keys, request.headers, query)
            if path == WS_PATH:
                target = client_target(query, key_client)
            else:
                target = await order_target(self.store, query, key_client)
        except ApiError as e:
            return error_response(e)
        owner = key_client or target.client_id or target.order_id or ""
        if sum(self._per_client.values()) >= self.settings.ws_max_connections:
            return too_many_connections(self.settings.ws_max_connections, "in all")
        if self._per_client[owner] >= self.settings.ws_max_connections_per_client:
            return too_many_connections(self.settings.ws_max_connections_per_client, "per client")
        self._targets[connection] = target
        self._owners[connection] = owner
        return None

    # -- WebSocket: after the upgrade --

    async def _handler(self, ws: ServerConnection) -> None:
        target = self._targets.pop(ws, None)
        if target is None:  # the upgrade went through without process_request: refuse
            await ws.close(1011, "no subscription")
            return
        owner = self._owners.pop(ws, "")
        self._per_client[owner] += 1
        sub = Subscriber(target, self.queue_size)
        self.hub.add(sub)  # first: events published from now on wait in sub.queue
        metrics.websocket_connections_current.inc()
        counters = {"live": self._live, "replay": self._replay}
        tasks = (
            asyncio.create_task(
                pump(sub, sender(ws), self.store, lambda kind, n: counters[kind].inc(n))
            ),
            asyncio.create_task(discard_incoming(ws)),
            asyncio.create_task(sub.kicked.wait()),
        )
        pumping, _, kicked = tasks
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if kicked in done:
                self.hub.remove(sub)
                log.info("closing a slow client (%s): %s", describe(target), sub.kick_reason)
                await self._close_ws(ws, 1013, sub.kick_reason)
            elif pumping in done and not pumping.cancelled():
                exc = pumping.exception()
                if exc is not None and not isinstance(exc, ConnectionClosed):
                    log.error("relay connection failed (%s)", describe(target), exc_info=exc)
                    await self._close_ws(ws, 1011, "internal error, reconnect with fromSeq")
        finally:
            self.hub.remove(sub)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            metrics.websocket_connections_current.dec()
            self._per_client[owner] -= 1
            if self._per_client[owner] <= 0:
                del self._per_client[owner]

    async def _close_ws(self, ws: ServerConnection, code: int, reason: str) -> None:
        """Close; a client that stopped reading can't take the close frame, so abort it."""
        try:
            async with asyncio.timeout(self.close_timeout):
                await ws.close(code, reason[:120])
        except TimeoutError:
            ws.transport.abort()


async def serve_relay(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = False,
) -> None:
    """Run the relay until `stop` is set (or SIGTERM/SIGINT with handle_signals)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        async with RelayServer(settings, host=host, port=port):
            if ready is not None:
                ready.set()
            await stop.wait()
            log.info("relay stopping")
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def run(settings: Settings) -> None:
    """Entry point of `order-engine relay`: serve on settings.host:settings.ws_port until
    SIGTERM/SIGINT, then close every connection (1001) and return (exit status 0)."""
    asyncio.run(serve_relay(settings, handle_signals=True))
