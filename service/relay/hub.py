"""Who wants which event, and delivering it to one connection with no gap and no duplicate.

The hub is fed every pub/sub frame and pushes it, without awaiting, into the bounded queue
of each interested `Subscriber` (by order id or by client id). Each connection's `pump`
task is the only writer to its socket: it replays stored events, then drains its queue,
dropping any event whose per-order `seq` it already sent and filling a seq gap from
PostgreSQL. A queue that overflows marks the subscriber kicked; its handler closes it
with 1013, and no other connection waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from service.domain import cursor as cursors
from service.domain.wire import frame_fields, split_frames, with_cursor_bytes
from service.relay.sequencer import Sequencer
from service.store.events import PAGE, Event, EventStore

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 4096
SEND_RUN = 256  # live events written at once to one connection


@dataclass(frozen=True, slots=True)
class Target:
    """What one connection asked for: one order (`order_id`) or all of a client's orders,
    from a cursor's (shard, offset) pairs (None: live events only)."""

    order_id: str | None = None
    client_id: str | None = None
    from_seq: int = 0
    cursor: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True, slots=True)
class Resync:
    """Pub/sub was lost and is back: an order's connection replays it from the store. (A
    client's connection needs nothing: the hub's catch-up brings what pub/sub lost.)"""


Item = Event | Resync


class Subscriber:
    __slots__ = (
        "target",
        "queue",
        "last_seq",
        "positions",
        "kicked",
        "kick_reason",
        "direct",
        "flush",
        "client",
        "_cursor",
    )

    def __init__(self, target: Target, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.target = target
        self.queue: asyncio.Queue[Item] = asyncio.Queue(queue_size)
        self.last_seq: dict[str, int] = {}  # per order: the highest seq sent to this client
        # A client's connection: per shard, the offset of the last event sent (or of where
        # the connection began), the `cursor` of the next message.
        self.positions: dict[int, int] = dict(target.cursor or ())
        self._cursor = cursors.Encoder()  # of positions
        self.client = target.order_id is None  # a client's connection, not an order's
        self.kicked = asyncio.Event()
        self.kick_reason = ""
        # Set by the pump while it waits on an empty queue with its replay done: writes one
        # message to the socket now, or returns False (socket not open or not keeping up).
        self.direct: Callable[[bytes], bool] | None = None
        # What `direct` took is written to the socket by this (set by the pump with it;
        # None: `direct` writes at once). The hub calls it once it has handed on a message.
        self.flush: Callable[[], None] | None = None

    def fresh(self, event: Event) -> bool:
        """Not sent yet: for a client, above its shard's position; for an order, the next
        seq or later."""
        if self.target.order_id is None:
            return event.offset > self.positions.get(event.shard, 0)
        last = self.last_seq.get(event.order_id)
        return last is None or event.seq > last

    def stamp(self, event: Event) -> bytes:
        """The message to send for `event`, with its cursor; counts the event as sent."""
        if self.target.order_id is None:
            self.positions[event.shard] = event.offset
            cursor = self._cursor.encode(self.positions, event.shard)
        else:
            self.last_seq[event.order_id] = event.seq
            cursor = cursors.encode_one(event.shard, event.offset) if event.shard >= 0 else b""
        return with_cursor_bytes(event.message, cursor)

    def begin_at(self, positions: dict[int, int]) -> None:
        """A client's connection: count as sent every event up to `positions`."""
        self.positions = positions
        self._cursor.reset()

    def offer(self, item: Item) -> bool:
        """Queue `item` for the pump; True if it was written to the socket at once instead.

        Written at once only when the pump would send it next and alone: the pump is idle
        on an empty queue and the event is new here (for an order, its next seq or its first).
        Any other case (a gap, a resync, a busy socket) goes through the queue, whose order
        the pump keeps."""
        if self.kick_reason:
            return False
        direct = self.direct
        if direct is not None and type(item) is Event and self.queue.empty():
            if self.client:
                positions = self.positions
                shard = item.shard
                before = positions.get(shard)
                if item.offset <= (before or 0):
                    return False  # sent already (the replay had it)
                positions[shard] = item.offset  # stamp(item), inline
                cursor = self._cursor.encode(positions, shard)
                if direct(with_cursor_bytes(item.message, cursor)):
                    return True
                if before is None:
                    del positions[shard]
                else:
                    positions[shard] = before
                self._cursor.reset()
            else:
                last = self.last_seq.get(item.order_id)
                if last is None or item.seq == last + 1:
                    message = self.stamp(item)
                    if direct(message):
                        return True
                    if last is None:
                        del self.last_seq[item.order_id]
                    else:
                        self.last_seq[item.order_id] = last
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.kick(f"too slow: more than {self.queue.maxsize} messages waiting")
        return False

    def kick(self, reason: str) -> None:
        self.kick_reason = reason or "kicked"  # non-empty: offer tests it
        self.kicked.set()


class Hub:
    """Subscriptions by order id and by client id, and the dispatch of events to them, each
    shard's in offset order (the sequencer)."""

    def __init__(self) -> None:
        self._by_order: dict[str, set[Subscriber]] = {}
        self._by_client: dict[str, set[Subscriber]] = {}
        self.sequencer = Sequencer()
        self.received = 0  # frames taken from pub/sub (tests wait on it)
        self.sent_direct = 0  # events written straight to a socket by dispatch
        self._written: set[Subscriber] = set()  # took a direct write: flush them

    def __len__(self) -> int:
        return sum(len(s) for s in self._by_order.values()) + sum(
            len(s) for s in self._by_client.values()
        )

    def _index(self, sub: Subscriber) -> tuple[dict[str, set[Subscriber]], str]:
        t = sub.target
        if t.order_id is not None:
            return self._by_order, t.order_id
        assert t.client_id is not None
        return self._by_client, t.client_id

    def add(self, sub: Subscriber) -> None:
        """Subscribe; a client's connection with no cursor begins where the hub is: every
        event handed on from now on is new to it. (Not where the store is: a read of the
        shard heads after subscribing could come after events committed since, and count
        them as sent. An event committed just before, which the hub had not handed on yet,
        is sent: harmless, the connection never had it.)"""
        t = sub.target
        if t.order_id is None and t.cursor is None:
            sub.begin_at({shard: nxt - 1 for shard, nxt in self.sequencer.next.items()})
        index, key = self._index(sub)
        index.setdefault(key, set()).add(sub)

    def remove(self, sub: Subscriber) -> None:
        index, key = self._index(sub)
        subs = index.get(key)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del index[key]

    def start(self, heads: dict[int, int]) -> int:
        """Begin the shard logs after `heads` (see Sequencer.start)."""
        n = sum(self._deliver(e) for e in self.sequencer.start(heads))
        self._flush()
        return n

    def dispatch(self, frame: bytes) -> int:
        """Hand on one pub/sub frame (or each frame of a batch) to every interested
        connection, in order; returns to how many (events times connections)."""
        n = sent = 0
        written = self._written
        by_client, by_order = self._by_client, self._by_order
        sequencer = self.sequencer
        nexts, held = sequencer.next, sequencer.held
        for one in split_frames(frame):
            self.received += 1
            try:
                client_id, order_id, seq, event_id, shard, offset, message = frame_fields(one)
            except ValueError:  # UnicodeDecodeError is one
                log.warning("dropping a malformed pub/sub frame: %r", one[:200])
                continue
            event = Event(order_id, seq, event_id, message, client_id, shard, offset)
            if offset != nexts.get(shard) or shard in held or by_order:
                for ready in sequencer.feed(event):
                    n += self._deliver(ready)
                continue
            # The common case, inline: the shard's next offset (Sequencer.feed's first case),
            # no order's socket, so only the client's connections want it (deliver).
            nexts[shard] = offset + 1
            subs = by_client.get(client_id)
            if subs:
                n += len(subs)
                for sub in subs:
                    if sub.offer(event):
                        sent += 1
                        written.add(sub)
        self.sent_direct += sent
        self._flush()
        return n

    def deliver(self, event: Event) -> int:
        """Offer one event, in its shard's order, to its order's and its client's
        connections."""
        n = self._deliver(event)
        self._flush()
        return n

    def _deliver(self, event: Event) -> int:
        n = 0
        for subs in (self._by_client.get(event.client_id), self._by_order.get(event.order_id)):
            if subs:
                n += len(subs)
                for sub in subs:
                    if sub.offer(event):
                        self.sent_direct += 1
                        self._written.add(sub)
        return n

    def _flush(self) -> None:
        """Write what the connections' direct writes took: one socket write each, before
        any pump runs again (so the order on each socket is the order handed on)."""
        written = self._written
        while written:
            flush = written.pop().flush
            if flush is not None:
                flush()

    def resync(self) -> int:
        """After pub/sub came back: every order's connection catches up from the store."""
        item = Resync()
        n = 0
        for subs in self._by_order.values():
            for sub in subs:
                sub.offer(item)
                n += 1
        return n


async def pump(
    sub: Subscriber,
    send: Callable[[bytes], Awaitable[Any]],
    store: EventStore,
    on_sent: Callable[[str, int], None] = lambda kind, n: None,
) -> None:
    """Replay, then stream live events to one connection until cancelled or send fails.

    The subscriber must already be in the hub, so that events handed on while the replay
    queries run wait in its queue; those the replay covered are dropped (by shard offset for
    a client, by seq for an order).

    A client's replay is exact: the hub hands on each shard's events in offset order, so
    every event of the client below a position it was sent has been sent, and offsets are
    commit-ordered, so a replay query sees a prefix of each shard's log. Replay reads each
    shard's events of the client after the cursor's offset; live events the hub handed on
    since the connection subscribed are contiguous per shard from where the hub was, which
    the replay reached, so the two leave no gap between them.
    """
    last_seq = sub.last_seq
    target = sub.target

    async def deliver(event: Event, kind: str) -> None:
        await send(sub.stamp(event))
        on_sent(kind, 1)

    async def replay_order(order_id: str, before_seq: int | None = None) -> None:
        while True:
            after = last_seq.get(order_id, 0)
            events = await store.order_events(order_id, after, before_seq)
            for event in events:
                await deliver(event, "replay")
            if len(events) < PAGE:
                return

    async def replay_client(client_id: str) -> None:
        for shard in sorted(await store.shard_heads()):
            while True:
                after = sub.positions.get(shard, 0)
                events = await store.client_shard_events(client_id, shard, after)
                for event in events:
                    await deliver(event, "replay")
                if len(events) < PAGE:
                    break

    if target.order_id is not None:
        last_seq[target.order_id] = target.from_seq
        await replay_order(target.order_id)
    elif target.cursor is not None:
        assert target.client_id is not None
        await replay_client(target.client_id)
    # Live events go out in runs: whatever is queued when the pump wakes (up to SEND_RUN) is
    # written with one send when the sender can (`send.many`: one socket write), else one by
    # one. A run is cut at a Resync or a seq gap, so the order on the wire is unchanged.
    send_many: Callable[[list[bytes]], Awaitable[Any]] | None = getattr(send, "many", None)
    run: list[bytes] = []

    async def flush() -> None:
        if send_many is not None and len(run) > 1:
            await send_many(run)
        else:
            for message in run:
                await send(message)
        if run:
            on_sent("live", len(run))
        run.clear()

    # While idle on an empty queue, dispatch writes the next event itself (Subscriber.offer).
    send_now: Callable[[bytes], bool] | None = getattr(send, "now", None)
    send_flush: Callable[[], None] | None = getattr(send, "flush", None)
    while True:
        if send_now is not None and sub.queue.empty():
            sub.direct = send_now
            sub.flush = send_flush
        try:
            item = await sub.queue.get()
        finally:
            sub.direct = None
        while True:
            if isinstance(item, Resync):
                if target.order_id is not None:
                    await flush()
                    await replay_order(target.order_id)
            elif sub.fresh(item):  # else already sent (replay, redelivery)
                if target.order_id is not None:
                    prev = last_seq.get(item.order_id)
                    if prev is not None and item.seq > prev + 1:
                        # Not from the hub, which hands events on in order: a seq the
                        # store has and this connection has not.
                        await flush()
                        await replay_order(item.order_id, before_seq=item.seq)
                run.append(sub.stamp(item))  # counted sent: sent with the run or the pump dies
            if len(run) >= SEND_RUN or sub.queue.empty():
                break
            item = sub.queue.get_nowait()
        await flush()
