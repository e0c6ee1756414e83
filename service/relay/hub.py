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

from service.domain.wire import BATCH_SEP, parse_frame, split_frames
from service.store.events import PAGE, Event, EventStore

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 4096
SEND_RUN = 256  # live events written at once to one connection


@dataclass(frozen=True, slots=True)
class Target:
    """What one connection asked for: one order (`order_id`) or all of a client's orders."""

    order_id: str | None = None
    client_id: str | None = None
    from_seq: int = 0
    after_event_id: int | None = None


# How far below the watermark a /ws catch-up after a pub/sub outage starts reading.
RESYNC_SLACK = 10_000


@dataclass(frozen=True, slots=True)
class Resync:
    """Pub/sub was lost and is back: catch up from the store, live events follow this item."""

    after_event_id: int


Item = Event | Resync


class Subscriber:
    __slots__ = ("target", "queue", "last_seq", "kicked", "kick_reason", "joined_at", "direct")

    def __init__(self, target: Target, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.target = target
        self.queue: asyncio.Queue[Item] = asyncio.Queue(queue_size)
        self.last_seq: dict[str, int] = {}  # per order: the highest seq sent to this client
        self.kicked = asyncio.Event()
        self.kick_reason = ""
        self.joined_at = 0  # the hub's watermark when this connection subscribed
        # Set by the pump while it waits on an empty queue with its replay done: writes one
        # message to the socket now, or returns False (socket not open or not keeping up).
        self.direct: Callable[[bytes], bool] | None = None

    def offer(self, item: Item) -> bool:
        """Queue `item` for the pump; True if it was written to the socket at once instead.

        Written at once only when the pump would send it next and alone: the pump is idle
        on an empty queue and the event is the order's next seq (or its first here). Any
        other case (a gap, a repeat, a resync, a busy socket) goes through the queue, whose
        order the pump keeps."""
        if self.kicked.is_set():
            return False
        direct = self.direct
        if direct is not None and type(item) is Event and self.queue.empty():
            last = self.last_seq.get(item.order_id)
            if (last is None or item.seq == last + 1) and direct(item.message):
                self.last_seq[item.order_id] = item.seq
                return True
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.kick(f"too slow: more than {self.queue.maxsize} messages waiting")
        return False

    def kick(self, reason: str) -> None:
        self.kick_reason = reason
        self.kicked.set()


class Hub:
    """Subscriptions by order id and by client id, and the dispatch of pub/sub frames."""

    def __init__(self) -> None:
        self._by_order: dict[str, set[Subscriber]] = {}
        self._by_client: dict[str, set[Subscriber]] = {}
        # Highest eventId dispatched: after a pub/sub outage, /ws connections catch up from it.
        self.watermark = 0
        self.received = 0  # frames taken from pub/sub (tests wait on it)
        self.sent_direct = 0  # events written straight to a socket by dispatch

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
        sub.joined_at = self.watermark
        index, key = self._index(sub)
        index.setdefault(key, set()).add(sub)

    def remove(self, sub: Subscriber) -> None:
        index, key = self._index(sub)
        subs = index.get(key)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del index[key]

    def dispatch(self, frame: bytes) -> int:
        """Queue one pub/sub frame (or each frame of a batch) for every interested
        connection; returns how many."""
        if frame[:1] == BATCH_SEP:
            return sum(self._dispatch_one(f) for f in split_frames(frame))
        return self._dispatch_one(frame)

    def _dispatch_one(self, frame: bytes) -> int:
        self.received += 1
        try:
            client_id, order_id, seq, event_id, message = parse_frame(frame)
            event = Event(order_id, seq, event_id, message)
        except ValueError:  # UnicodeDecodeError is one
            log.warning("dropping a malformed pub/sub frame: %r", frame[:200])
            return 0
        if event.event_id > self.watermark:
            self.watermark = event.event_id
        n = 0
        for subs in (self._by_order.get(order_id), self._by_client.get(client_id)):
            if subs:
                for sub in subs:
                    if sub.offer(event):
                        self.sent_direct += 1
                n += len(subs)
        return n

    def resync(self) -> int:
        """After pub/sub came back: every connection catches up from the store."""
        item = Resync(self.watermark)
        n = 0
        for index in (self._by_order, self._by_client):
            for subs in index.values():
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

    The subscriber must already be in the hub, so that events published while the replay
    query runs wait in its queue; those the replay covered are dropped by seq.
    """
    last_seq = sub.last_seq

    async def deliver(event: Event, kind: str) -> None:
        await send(event.message)
        last_seq[event.order_id] = event.seq
        on_sent(kind, 1)

    async def replay_order(order_id: str, before_seq: int | None = None) -> None:
        while True:
            after = last_seq.get(order_id, 0)
            events = await store.order_events(order_id, after, before_seq)
            for event in events:
                await deliver(event, "replay")
            if len(events) < PAGE:
                return

    async def replay_client(client_id: str, after_event_id: int) -> None:
        while True:
            events = await store.client_events(client_id, after_event_id)
            for event in events:
                last = last_seq.get(event.order_id)
                if last is not None and event.seq <= last:
                    continue  # sent already
                if last is not None and event.seq > last + 1:
                    # Event ids are taken before commit: an event of this order with a
                    # lower id than the floor may have committed late. The store has it.
                    await replay_order(event.order_id, before_seq=event.seq)
                await deliver(event, "replay")
            if len(events) < PAGE:
                return
            after_event_id = events[-1].event_id

    target = sub.target
    if target.order_id is not None:
        last_seq[target.order_id] = target.from_seq
        await replay_order(target.order_id)
    elif target.after_event_id is not None:
        assert target.client_id is not None
        await replay_client(target.client_id, target.after_event_id)

    # Live events go out in runs: whatever is queued when the pump wakes (up to SEND_RUN) is
    # written with one send when the sender can (`send.many`: one socket write), else one by
    # one. A run is cut at a Resync or a seq gap, so the order on the wire is unchanged.
    send_many: Callable[[list[bytes]], Awaitable[Any]] | None = getattr(send, "many", None)
    run: list[Event] = []

    async def flush() -> None:
        if send_many is not None and len(run) > 1:
            await send_many([e.message for e in run])
            on_sent("live", len(run))
        else:
            for e in run:
                await deliver(e, "live")
        run.clear()

    # While idle on an empty queue, dispatch writes the next event itself (Subscriber.offer).
    send_now: Callable[[bytes], bool] | None = getattr(send, "now", None)
    while True:
        if send_now is not None and sub.queue.empty():
            sub.direct = send_now
        try:
            item = await sub.queue.get()
        finally:
            sub.direct = None
        while True:
            if isinstance(item, Resync):
                await flush()
                if target.order_id is not None:
                    await replay_order(target.order_id)
                else:
                    assert target.client_id is not None
                    # Ids are taken before commit, so events just below the watermark may
                    # have committed after it: look back RESYNC_SLACK ids (repeats are
                    # dropped by seq), but not before this connection began.
                    floor = max(
                        item.after_event_id - RESYNC_SLACK,
                        target.after_event_id or 0,
                        sub.joined_at,
                    )
                    await replay_client(target.client_id, floor)
            else:
                last = last_seq.get(item.order_id)
                if last is None or item.seq > last:  # else already sent (replay, redelivery)
                    if last is not None and item.seq > last + 1:
                        # A publish was lost (e.g. a worker died after its commit): the
                        # store has it.
                        await flush()
                        await replay_order(item.order_id, before_seq=item.seq)
                    run.append(item)
                    last_seq[item.order_id] = item.seq  # sent with the run, or the pump dies
            if len(run) >= SEND_RUN or sub.queue.empty():
                break
            item = sub.queue.get_nowait()
        await flush()
