"""The relay's view of the shard logs: every event handed on once, in offset order per shard.

Events reach the relay on pub/sub, from several publishers (a shard's worker, every API
process for pending events, a recovering worker re-announcing), so two events of one shard
may arrive out of offset order, twice, or not at all (a publisher that died after its
commit, a PUBLISH lost while Redis was down). The sequencer keeps, per shard, the next
offset it will hand on: an event below it is a repeat and dropped; one above it waits until
the offsets between have come, from pub/sub or, if they have not shortly after
(`GAP_WAIT_S`), from PostgreSQL. Once a second (`POLL_S`) it also reads each shard's last
offset from the store and fetches what pub/sub never brought, so even the last event of a
shard, whose loss nothing later would show, reaches its clients within about a second.

Offsets are commit-ordered, so once offset N is seen, every offset below N is stored and
the fill cannot miss one. Because the hub delivers each shard strictly in offset order, a
connection's per-shard offsets are an exact resume point (service/domain/cursor.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from service.store.events import PAGE, Event, EventStore

log = logging.getLogger(__name__)

GAP_WAIT_S = 0.1  # how long an out-of-order event waits for the ones before it on pub/sub
POLL_S = 1.0  # how often the shard heads are compared with what was handed on


class Sequencer:
    def __init__(self) -> None:
        self.next: dict[int, int] = {}  # per shard, the next offset to hand on
        self.started = False
        self.held: dict[int, dict[int, Event]] = {}
        self.held_since: dict[int, float] = {}

    def start(self, heads: dict[int, int]) -> list[Event]:
        """Begin after the shards' last offsets `heads` (read after subscribing: everything
        above them will come on pub/sub); returns the held events now in order."""
        for shard, last in heads.items():
            self.next[shard] = max(self.next.get(shard, 0), last + 1)
        self.started = True
        out: list[Event] = []
        for shard in list(self.held):
            out += self._drain(shard)
        return out

    def feed(self, event: Event) -> list[Event]:
        """The events that can be handed on now that `event` came, in order (maybe none)."""
        shard, offset = event.shard, event.offset
        nxt = self.next.get(shard)
        if nxt is None:
            if not self.started:
                self._hold(event)
                return []
            nxt = self.next[shard] = 1  # no event of this shard was stored at start
        if offset < nxt:
            return []  # handed on already
        if offset == nxt and shard not in self.held:
            self.next[shard] = offset + 1
            return [event]
        self._hold(event)
        return self._drain(shard)

    def skip_to(self, heads: dict[int, int]) -> list[Event]:
        """Nobody is listening: move on to `heads` without reading what is below them
        (a connection that comes later replays from the store)."""
        return self.start(heads)

    def gaps(self, older_than: float) -> list[tuple[int, int, int]]:
        """(shard, first missing, last missing) of shards whose held events have waited
        longer than `older_than` seconds."""
        now = time.monotonic()
        out = []
        for shard, since in self.held_since.items():
            if now - since >= older_than:
                out.append((shard, self.next.get(shard, 1), min(self.held[shard]) - 1))
        return out

    def behind(self, heads: dict[int, int]) -> list[tuple[int, int, int]]:
        """(shard, first, last) of the stored offsets not handed on yet."""
        return [
            (shard, self.next.get(shard, 1), last)
            for shard, last in heads.items()
            if last >= self.next.get(shard, 1)
        ]

    def _hold(self, event: Event) -> None:
        self.held.setdefault(event.shard, {})[event.offset] = event
        self.held_since.setdefault(event.shard, time.monotonic())

    def _drain(self, shard: int) -> list[Event]:
        held = self.held.get(shard)
        if held is None:
            return []
        nxt = self.next.get(shard)
        if nxt is None:
            return []
        for offset in [o for o in held if o < nxt]:
            del held[offset]
        out = []
        while nxt in held:
            out.append(held.pop(nxt))
            nxt += 1
        self.next[shard] = nxt
        if held:
            if out:
                self.held_since[shard] = time.monotonic()
        else:
            del self.held[shard]
            self.held_since.pop(shard, None)
        return out


async def keep_up(
    sequencer: Sequencer,
    store: EventStore,
    deliver: Callable[[Event], object],
    listening: Callable[[], bool],
    wake: asyncio.Event,
) -> None:
    """Forever: fill held gaps from the store after GAP_WAIT_S, and every POLL_S (or when
    `wake` is set, e.g. after pub/sub came back) fetch what the shard heads say was missed."""
    last_poll = 0.0
    while True:
        try:
            async with asyncio.timeout(GAP_WAIT_S):
                await wake.wait()
        except TimeoutError:
            pass
        try:
            ranges = sequencer.gaps(GAP_WAIT_S)
            if wake.is_set() or time.monotonic() - last_poll >= POLL_S:
                wake.clear()
                last_poll = time.monotonic()
                heads = await store.shard_heads()
                if not listening():
                    for event in sequencer.skip_to(heads):
                        deliver(event)
                    continue
                ranges += sequencer.behind(heads)
            for shard, first, last in ranges:
                await _fill(sequencer, store, deliver, shard, first, last)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - PostgreSQL down: try again next round
            log.warning("relay catch-up from the store failed (%s)", e)
            await asyncio.sleep(POLL_S)


async def _fill(
    sequencer: Sequencer,
    store: EventStore,
    deliver: Callable[[Event], object],
    shard: int,
    first: int,
    last: int,
) -> None:
    after = first - 1
    while after < last:
        events = await store.shard_events(shard, after, last)
        for event in events:
            for ready in sequencer.feed(event):
                deliver(ready)
        if len(events) < PAGE:
            return
        after = events[-1].offset
