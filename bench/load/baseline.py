"""The bare libraries doing the engine's I/O with no engine logic, on the same machine, so
each engine figure comes with a ratio measured in the same run (`python -m bench.load
--baseline`):

  http    Falcon on gunicorn (gthread, the engine's API_WORKERS x API_THREADS): each POST
          parses the JSON body, INSERTs one row (its own transaction) and XADDs one entry
          (bench/load/baseline_http.py).
  stream  2 processes, one per core, each reading its Redis Stream with XREADGROUP (256 a
          call); per batch ONE transaction: COPY of six event rows per order and one UPDATE
          of the order rows (unnest), then a pipeline of one PUBLISH per event and one XACK.
  relay   a websockets server subscribed to the events channel, sending each event to the
          client it names (`websockets.broadcast`, no per-message await), 1,000 clients.

    python -m bench.load.baseline relay --port 4001 --channel bench:x:events   # the bare relay
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
import redis

from bench.load import engine as eng
from bench.load.clients import Progress, percentiles_ms
from bench.load.server_cpu import ServerCpu, cpu_per_order
from service.domain import wire as ev
from service.domain.cursor import Position

# --------------------------------------------------------------------------- frames


def event_frame(
    client_id: str, order_id: str, seq: int, event_id: int, t_ns: int, shard: int = 0
) -> bytes:
    """An order:update frame as the workers publish it, at offset `event_id` of `shard`;
    txHash carries the publish time."""
    payload = {
        "filled": "0",
        "remaining": "1",
        "avgPrice": None,
        "txHash": str(t_ns),
        "failureReason": None,
        "attempts": 1,
    }
    message = ev.ws_message(order_id, "routing", seq, event_id, datetime.now(UTC), payload)
    return ev.pubsub_frame(client_id, order_id, seq, Position(event_id, shard, event_id), message)


def split(data: bytes) -> list[bytes]:
    splitter = getattr(ev, "split_frames", None)
    return splitter(data) if splitter else [data]


def frame_events(data: bytes) -> int:
    return len(split(data))


def publish_events(pipe: Any, channel: str, frames: list[bytes]) -> None:
    """As the workers do: one batch frame when the engine has them, else one per event."""
    batch = getattr(ev, "pubsub_batch", None)
    if batch is not None:
        pipe.publish(channel, batch(frames))
    else:
        for f in frames:
            pipe.publish(channel, f)


# --------------------------------------------------------------------------- http


@contextlib.contextmanager
def bare_http(args: argparse.Namespace) -> Any:
    """The bare HTTP twin (bench/load/baseline_http.py on gunicorn, the engine's API_WORKERS x
    API_THREADS) on a fresh database and Redis prefix; yields its URL and gunicorn's pid."""
    with eng.fresh(args.keep) as f:
        with psycopg.connect(f.database_url, autocommit=True) as c:
            c.execute(
                "CREATE TABLE orders_bare (id uuid PRIMARY KEY, client_id text NOT NULL,"
                " body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
            )
        port = eng.free_port()
        env = {
            **os.environ,
            "BENCH_DSN": f.database_url,
            "BENCH_REDIS_URL": eng.REDIS_URL,
            "BENCH_STREAM": f"{f.prefix}:orders",
        }
        workers = eng.FAST_ENV["API_WORKERS"]
        threads = eng.FAST_ENV["API_THREADS"]
        for item in args.env or []:
            k, _, v = item.partition("=")
            workers = v if k == "API_WORKERS" else workers
            threads = v if k == "API_THREADS" else threads
        log = Path(tempfile.mkdtemp(prefix="bench-bare-")) / "gunicorn.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-b",
                    f"127.0.0.1:{port}",
                    "-w",
                    workers,
                    "-k",
                    "gthread",
                    "--threads",
                    threads,
                    "--keep-alive",
                    "30",
                    "--reuse-port",  # as the engine's gunicorn_conf: one socket per process
                    "bench.load.baseline_http:app",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_http(url + "/health", proc, log, port, int(workers))
            yield url, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=30)


async def http_run(args: argparse.Namespace, rate: float, send_orders: Any) -> dict[str, Any]:
    with bare_http(args) as (url, _pid):
        label = f"bare-http@{rate:g}/s" if rate else "bare-http"
        sent = await send_orders(
            url,
            args.n,
            args.connections,
            rate,
            lambda i: {
                "clientId": f"bare-{i % args.clients}",
                "symbol": args.symbol,
                "side": "buy" if i % 2 else "sell",
                "amount": args.amount,
            },
            Progress(label, args.n, not args.quiet),
        )
    accepted = len(sent["accept"])
    return {
        "scenario": "bare-http",
        "rate": rate,
        "accepted": accepted,
        "errors": sent["errors"],
        "accepted_per_s": round(accepted / (sent["end"] - sent["start"]), 1),
        "accept_ms": percentiles_ms(sent["accept"]),
    }


def _wait_http(
    url: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    port: int,
    processes: int,
    timeout: float = 30,
) -> None:
    """Until it answers and each of its processes listens (eng.listeners: as the engine's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"baseline exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2):
                if eng.listeners(port) >= processes:
                    return
        time.sleep(0.1)
    raise RuntimeError(f"baseline not up:\n{log.read_text()[-3000:]}")


# --------------------------------------------------------------------------- stream

EVENTS_PER_ORDER = 6
STATUSES = ["pending", "routing", "building", "submitted", "confirmed", "filled"]


def _stream_worker(index: int, dsn: str, stream: str, channel: str, n: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[index % os.cpu_count()]})  # type: ignore[operator]
    r = redis.Redis.from_url(eng.REDIS_URL)
    conn = psycopg.connect(dsn)
    done = 0
    first = last = 0.0
    idle = 0
    while done < n and idle < 20:
        reply: Any = r.xreadgroup("g", f"c{index}", {stream: ">"}, count=256, block=500)
        if not reply:
            idle += 1
            continue
        idle = 0
        entries = reply[0][1]
        if not first:
            first = time.time()
        ids = [eid for eid, _ in entries]
        orders = [fields[b"id"].decode() for _, fields in entries]
        now = datetime.now(UTC)
        frames = []
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy("COPY events_bare (order_id, seq, status, ts, payload) FROM STDIN") as cp:
                for oid in orders:
                    for s in range(1, EVENTS_PER_ORDER):
                        payload = orjson.dumps({"status": STATUSES[s], "filled": "0"})
                        cp.write_row((oid, s + 1, STATUSES[s], now, payload.decode()))
                        frames.append(
                            ev.pubsub_frame("bare", oid, s + 1, Position(0, 0, 0), payload)
                        )
            cur.execute(
                "UPDATE orders_bare o SET status = 'filled', seq = 6, updated_at = now()"
                " FROM unnest(%s::uuid[]) AS u(id) WHERE o.id = u.id",
                (orders,),
            )
        pipe = r.pipeline(transaction=False)
        for frame in frames:
            pipe.publish(channel, frame)
        pipe.xack(stream, "g", *ids)
        pipe.execute()
        done += len(entries)
        last = time.time()
    t = os.times()
    out.put((index, done, first, last, t.user + t.system))
    conn.close()
    r.close()


async def stream_run(args: argparse.Namespace, n: int) -> dict[str, Any]:
    with eng.fresh(args.keep) as f:
        with psycopg.connect(f.database_url, autocommit=True) as c:
            c.execute(
                "CREATE TABLE orders_bare (id uuid PRIMARY KEY, status text NOT NULL,"
                " seq int NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())"
            )
            c.execute(
                "CREATE TABLE events_bare (event_id bigserial PRIMARY KEY, order_id uuid NOT NULL"
                " REFERENCES orders_bare (id), seq int NOT NULL, status text NOT NULL,"
                " ts timestamptz NOT NULL, payload jsonb NOT NULL, UNIQUE (order_id, seq))"
            )
            ids = [uuid.uuid4() for _ in range(n)]
            c.execute(
                "INSERT INTO orders_bare (id, status, seq) SELECT u, 'pending', 1"
                " FROM unnest(%s::uuid[]) u",
                (ids,),
            )
        r = redis.Redis.from_url(eng.REDIS_URL)
        streams = [f"{f.prefix}:bare:{i}" for i in range(2)]
        for s in streams:
            r.xgroup_create(s, "g", id="0", mkstream=True)
        for lo in range(0, n, 5000):
            pipe = r.pipeline(transaction=False)
            for i in range(lo, min(n, lo + 5000)):
                pipe.xadd(streams[i % 2], {"id": str(ids[i])})
            pipe.execute()
        r.close()
        ctx = mp.get_context("fork")
        q: Any = ctx.Queue()
        procs = [
            ctx.Process(
                target=_stream_worker,
                args=(i, f.database_url, streams[i], f"{f.prefix}:events", (n + 1 - i) // 2, q),
            )
            for i in range(2)
        ]
        prog = Progress("bare-stream", n, not args.quiet)
        for p in procs:
            p.start()
        results: list[tuple[int, int, float, float, float]] = []
        loop = asyncio.get_running_loop()
        async with ServerCpu(f.database_url) as server:
            while len(results) < 2:
                got = await loop.run_in_executor(None, q.get)
                results.append(got)
                prog.update(sum(x[1] for x in results), force=True)
            for p in procs:
                p.join()
        prog.close()
    done = sum(x[1] for x in results)
    span = max(x[3] for x in results) - min(x[2] for x in results if x[2])
    return {
        "scenario": "bare-stream",
        "orders": done,
        "events_per_order": EVENTS_PER_ORDER - 1,
        "orders_per_s": round(done / span, 1),
        "events_per_s": round(done * (EVENTS_PER_ORDER - 1) / span, 1),
        "span_s": round(span, 2),
        **cpu_per_order({f"bare-{x[0]}": x[4] for x in results}, server.seconds, done),
    }


# --------------------------------------------------------------------------- relay


async def serve_relay(port: int, channel: str) -> None:
    import redis.asyncio as aioredis
    from websockets.asyncio.server import broadcast, serve

    conns: dict[str, Any] = {}

    async def handler(ws: Any) -> None:
        query = ws.request.path.partition("?")[2]
        client = dict(p.partition("=")[::2] for p in query.split("&")).get("clientId", "")
        conns[client] = ws
        try:
            await ws.wait_closed()
        finally:
            if conns.get(client) is ws:
                del conns[client]

    async def pump() -> None:
        r = aioredis.Redis.from_url(eng.REDIS_URL)
        ps = r.pubsub()
        await ps.subscribe(channel)
        async for msg in ps.listen():
            if msg["type"] != "message":
                continue
            for frame in split(msg["data"]):
                client, _order, _ids, message = frame.split(b"\n", 3)
                ws = conns.get(client.decode())
                if ws is not None:
                    broadcast([ws], message)

    task = asyncio.create_task(pump())
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=65536):
        await asyncio.Future()
    task.cancel()


async def relay_run(args: argparse.Namespace, relay_measure: Any) -> dict[str, Any]:
    port = eng.free_port()
    channel = f"bench:{uuid.uuid4().hex[:8]}:events"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.load.baseline",
            "relay",
            "--port",
            str(port),
            "--channel",
            channel,
        ]
    )
    try:
        deadline = time.monotonic() + 20
        while True:  # until it accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the bare relay did not start") from None
                time.sleep(0.1)
        return await relay_measure(f"ws://127.0.0.1:{port}", channel, args, "bare-relay")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load.baseline")
    sub = p.add_subparsers(dest="what", required=True)
    relay = sub.add_parser("relay", help="run the bare relay")
    relay.add_argument("--port", type=int, required=True)
    relay.add_argument("--channel", required=True)
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_relay(args.port, args.channel))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
