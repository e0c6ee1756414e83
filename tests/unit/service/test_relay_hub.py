"""The hub's direct write: an event goes straight to the socket only when the pump would
send it next and alone; everything else keeps the queue's order."""

import asyncio

from service.domain.wire import pubsub_frame
from service.relay.hub import Hub, Resync, Subscriber, Target, pump
from service.store.events import Event


def frame(client: str, order: str, seq: int, event_id: int) -> bytes:
    return pubsub_frame(client, order, seq, event_id, b'{"seq":%d}' % seq)


def subscriber(written: list[bytes], accept: bool = True) -> Subscriber:
    sub = Subscriber(Target(client_id="alice"))

    def direct(message: bytes) -> bool:
        if accept:
            written.append(message)
        return accept

    sub.direct = direct
    return sub


def test_next_seq_on_an_idle_pump_is_written_at_once() -> None:
    written: list[bytes] = []
    sub = subscriber(written)
    assert sub.offer(Event("o1", 1, 10, b"a"))
    assert sub.offer(Event("o1", 2, 11, b"b"))
    assert written == [b"a", b"b"] and sub.queue.empty()
    assert sub.last_seq == {"o1": 2}


def test_a_gap_or_a_repeat_goes_to_the_queue_and_so_does_what_follows() -> None:
    written: list[bytes] = []
    sub = subscriber(written)
    sub.offer(Event("o1", 1, 10, b"a"))
    assert not sub.offer(Event("o1", 3, 12, b"c"))  # seq 2 missing: the pump fills it
    assert not sub.offer(Event("o2", 1, 13, b"d"))  # queued behind it, order kept
    assert not sub.offer(Event("o1", 1, 10, b"a"))  # a repeat: the pump drops it
    assert written == [b"a"] and sub.queue.qsize() == 3


def test_a_resync_is_always_queued() -> None:
    sub = subscriber([])
    assert not sub.offer(Resync(5))
    assert sub.queue.qsize() == 1


def test_a_socket_that_does_not_keep_up_leaves_it_to_the_queue() -> None:
    written: list[bytes] = []
    sub = subscriber(written, accept=False)
    assert not sub.offer(Event("o1", 1, 10, b"a"))
    assert sub.queue.qsize() == 1 and sub.last_seq == {}


def test_no_direct_write_without_an_idle_pump() -> None:
    sub = Subscriber(Target(client_id="alice"))
    assert not sub.offer(Event("o1", 1, 10, b"a"))
    assert sub.queue.qsize() == 1


def test_dispatch_counts_direct_writes_and_routes_by_client_and_order() -> None:
    hub = Hub()
    written: list[bytes] = []
    by_client, by_order = subscriber(written), subscriber(written)
    by_order.target = Target(order_id="o1")
    hub.add(by_client)
    hub.add(by_order)
    assert hub.dispatch(frame("alice", "o1", 1, 10)) == 2
    assert hub.dispatch(frame("bob", "o2", 1, 11)) == 0
    assert hub.sent_direct == 2 and hub.watermark == 11


def test_a_malformed_frame_is_dropped() -> None:
    hub = Hub()
    assert hub.dispatch(b"alice\no1\n{}") == 0
    assert hub.dispatch(b"alice\no1\nx 1\n{}") == 0


def test_pump_sets_direct_only_while_idle() -> None:
    async def main() -> None:
        sent: list[bytes] = []

        async def send(message: bytes) -> None:
            sent.append(message)

        def now(message: bytes) -> bool:
            sent.append(b"now:" + message)
            return True

        send.now = now  # type: ignore[attr-defined]
        sub = Subscriber(Target(client_id="alice"))
        task = asyncio.create_task(pump(sub, send, store=None))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        assert sub.direct is now
        sub.offer(Event("o1", 1, 10, b"a"))
        sub.queue.put_nowait(Event("o1", 2, 11, b"b"))  # as if the socket had been busy
        await asyncio.sleep(0)
        assert sent == [b"now:a", b"b"] and sub.direct is now
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert sub.direct is None

    asyncio.run(main())
