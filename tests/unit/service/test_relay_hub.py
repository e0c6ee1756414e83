"""The hub: each shard's events handed on once and in offset order (the sequencer), the
cursor stamped on each message, and the direct write (an event goes straight to the socket
only when the pump would send it next and alone; everything else keeps the queue's order)."""

import asyncio

import orjson

from service.domain import cursor
from service.domain.cursor import Position
from service.domain.wire import pubsub_frame, ws_message
from service.relay.hub import Hub, Resync, Subscriber, Target, pump
from service.relay.sequencer import Sequencer
from service.store.events import Event


def msg(seq: int) -> bytes:
    return ws_message("o", "routing", seq, seq, "2026-01-01T00:00:00.000Z", {})


def ev(order: str, seq: int, shard: int, offset: int, client: str = "alice") -> Event:
    return Event(order, seq, offset, msg(seq), client, shard, offset)


def frame(client: str, order: str, seq: int, shard: int, offset: int) -> bytes:
    return pubsub_frame(client, order, seq, Position(offset, shard, offset), msg(seq))


def cursor_of(message: bytes) -> dict[int, int]:
    return cursor.decode(orjson.loads(message)["payload"]["cursor"])


def subscriber(written: list[bytes], accept: bool = True, **target: object) -> Subscriber:
    sub = Subscriber(Target(**target) if target else Target(client_id="alice"))  # type: ignore[arg-type]

    def direct(message: bytes) -> bool:
        if accept:
            written.append(message)
        return accept

    sub.direct = direct
    return sub


def test_the_cursor_round_trips_and_refuses_what_it_did_not_write() -> None:
    assert cursor.decode(cursor.encode({3: 7, 0: 12})) == {0: 12, 3: 7}
    assert cursor.decode("") == {} and cursor.encode({}) == ""
    for bad in ("***", cursor.encode({1: 1})[:-1] + "!", "MTo=x", "eA"):
        try:
            cursor.decode(bad)
        except cursor.CursorError:
            continue
        raise AssertionError(f"{bad!r} decoded")


def test_sequencer_hands_on_in_offset_order_once() -> None:
    seq = Sequencer()
    assert seq.feed(ev("a", 1, 0, 5)) == []  # not started: held
    out = seq.start({0: 4, 1: 9})
    assert [e.offset for e in out] == [5]
    assert seq.feed(ev("a", 3, 0, 7)) == []  # 6 missing: held
    assert seq.gaps(0.0) == [(0, 6, 6)]
    assert [e.offset for e in seq.feed(ev("b", 1, 0, 6))] == [6, 7]
    assert seq.feed(ev("b", 1, 0, 6)) == []  # a repeat
    assert [e.offset for e in seq.feed(ev("c", 1, 2, 1))] == [1]  # a new shard starts at 1
    assert seq.behind({0: 9, 1: 9, 2: 1}) == [(0, 8, 9)]
    assert seq.gaps(0.0) == []


def test_a_client_message_carries_its_positions_and_repeats_are_dropped() -> None:
    written: list[bytes] = []
    sub = subscriber(written)
    sub.positions = {0: 4}
    assert sub.offer(ev("o1", 1, 0, 5))
    assert sub.offer(ev("o2", 1, 1, 2))
    assert not sub.offer(ev("o1", 1, 0, 5))  # sent already: not queued either
    assert sub.queue.empty()
    assert [cursor_of(m) for m in written] == [{0: 5}, {0: 5, 1: 2}]


def test_a_socket_that_does_not_keep_up_leaves_it_to_the_queue() -> None:
    written: list[bytes] = []
    sub = subscriber(written, accept=False)
    assert not sub.offer(ev("o1", 1, 0, 1))
    assert sub.queue.qsize() == 1 and sub.positions == {}


def test_an_order_socket_keeps_seq_order_and_a_resync_is_queued() -> None:
    written: list[bytes] = []
    sub = subscriber(written, order_id="o1")
    assert sub.offer(ev("o1", 1, 3, 10))
    assert not sub.offer(ev("o1", 3, 3, 12))  # seq 2 missing: the pump fills it
    assert not sub.offer(Resync())
    assert sub.queue.qsize() == 2 and sub.last_seq == {"o1": 1}
    assert cursor_of(written[0]) == {3: 10}


def test_dispatch_orders_each_shard_and_routes_by_client_and_order() -> None:
    hub = Hub()
    hub.start({})
    written: list[bytes] = []
    by_client, by_order = subscriber(written), subscriber(written, order_id="o1")
    hub.add(by_client)
    hub.add(by_order)
    assert hub.dispatch(frame("alice", "o1", 2, 0, 2)) == 0  # offset 1 not here yet
    assert hub.dispatch(frame("alice", "o1", 1, 0, 1)) == 4
    assert hub.dispatch(frame("bob", "o2", 1, 0, 3)) == 0
    assert hub.sent_direct == 4
    assert [orjson.loads(m)["payload"]["seq"] for m in written] == [1, 1, 2, 2]


def test_a_new_connection_without_cursor_begins_where_the_hub_is() -> None:
    hub = Hub()
    hub.start({0: 41, 5: 2})
    sub = Subscriber(Target(client_id="alice"))
    hub.add(sub)
    assert sub.positions == {0: 41, 5: 2}


def test_a_malformed_frame_is_dropped() -> None:
    hub = Hub()
    assert hub.dispatch(b"alice\no1\n{}") == 0
    assert hub.dispatch(b"alice\no1\nx 1\n{}") == 0
    assert hub.dispatch(b"alice\no1\n1 1\n{}") == 0  # the header before the shard logs


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
        sub.offer(ev("o1", 1, 0, 1))
        sub.queue.put_nowait(ev("o1", 2, 0, 2))  # as if the socket had been busy
        await asyncio.sleep(0)
        assert [m[:4] == b"now:" for m in sent] == [True, False] and sub.direct is now
        assert cursor_of(sent[1]) == {0: 2}
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert sub.direct is None

    asyncio.run(main())


def test_the_incremental_cursor_is_the_cursor() -> None:
    enc = cursor.Encoder()
    positions: dict[int, int] = {}
    for i, shard in enumerate([3, 3, 0, 1000, 3, 0, 7, 1000, 1000, 2]):
        positions[shard] = 10 * i + 1
        assert enc.encode(positions, shard).decode() == cursor.encode(positions)
    positions[3] = 1  # changed behind its back: reset, and the next encode is right again
    enc.reset()
    assert enc.encode(positions, 0).decode() == cursor.encode(positions)
    other = dict(positions)  # another mapping: rebuilt without a reset
    other[0] = 99
    assert enc.encode(other, 0).decode() == cursor.encode(other)


def test_a_refused_direct_write_leaves_positions_and_cursor_as_they_were() -> None:
    written: list[bytes] = []
    sub = subscriber(written)
    sub.positions = {0: 4, 1: 7}
    assert sub.offer(ev("o1", 1, 0, 5))
    accept = [False]
    sub.direct = lambda m: accept[0] and not written.append(m)  # type: ignore[func-returns-value]
    assert not sub.offer(ev("o1", 2, 1, 8))  # refused: queued, position 1 stays 7
    assert sub.positions == {0: 5, 1: 7} and sub.queue.qsize() == 1
    sub.queue.get_nowait()
    accept[0] = True
    assert sub.offer(ev("o2", 1, 0, 6))
    assert [cursor_of(m) for m in written] == [{0: 5, 1: 7}, {0: 6, 1: 7}]


def test_the_direct_frame_is_the_one_websockets_writes() -> None:
    from websockets.frames import Frame, Opcode

    from service.relay.sending import text_frame

    for n in (0, 1, 125, 126, 127, 65535, 65536, 70_000):
        payload = b"x" * n
        assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(
            mask=False, extensions=[]
        )


def test_a_batch_frame_is_flushed_once_per_connection_after_it_is_handed_on() -> None:
    from service.domain.wire import pubsub_batch

    hub = Hub()
    hub.start({})
    log: list[str] = []
    subs = {}
    for name in ("alice", "bob"):
        sub = Subscriber(Target(client_id=name))
        sub.direct = lambda m, name=name: (
            not log.append(f"{name}:{orjson.loads(m)['payload']['seq']}")
        )  # type: ignore[misc]
        sub.flush = lambda name=name: log.append(f"{name}:flush")  # type: ignore[misc]
        hub.add(sub)
        subs[name] = sub
    batch = [frame("alice", "a", 1, 0, 1), frame("bob", "b", 1, 0, 2), frame("alice", "a", 2, 0, 3)]
    assert hub.dispatch(pubsub_batch(batch)) == 3
    taken, flushed = log[:3], sorted(log[3:])
    assert taken == ["alice:1", "bob:1", "alice:2"] and flushed == ["alice:flush", "bob:flush"]
    log.clear()
    assert hub.dispatch(frame("bob", "b", 2, 0, 4)) == 1
    assert log == ["bob:2", "bob:flush"]  # a connection with nothing new is not flushed
