"""The bare HTTP baseline: Falcon on gunicorn, one INSERT (its own transaction) and one XADD
per POST, no engine logic; `/orders/batch`: one INSERT of all the batch's rows (one
transaction) and one pipeline of their XADDs. Served by `bench/load/baseline.py` as
`bench.load.baseline_http:app`."""

from __future__ import annotations

import os
import uuid

import falcon
import orjson
import redis
from psycopg_pool import ConnectionPool


class Orders:
    def __init__(self) -> None:
        threads = int(os.environ.get("BENCH_THREADS", "32"))
        self.pool = ConnectionPool(
            os.environ["BENCH_DSN"], min_size=1, max_size=threads, kwargs={"autocommit": True}
        )
        self.redis = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])
        self.stream = os.environ["BENCH_STREAM"]

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = orjson.loads(req.bounded_stream.read())
        oid = uuid.uuid4()
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO orders_bare (id, client_id, body) VALUES (%s, %s, %s)",
                (oid, body["clientId"], orjson.dumps(body).decode()),
            )
        self.redis.xadd(self.stream, {"id": str(oid)})
        resp.status = falcon.HTTP_201
        resp.data = orjson.dumps({"id": str(oid), "status": "pending"})
        resp.content_type = falcon.MEDIA_JSON


class Batch(Orders):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        orders = orjson.loads(req.bounded_stream.read())["orders"]
        ids = [uuid.uuid4() for _ in orders]
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO orders_bare (id, client_id, body)"
                " SELECT * FROM unnest(%s::uuid[], %s::text[], %s::jsonb[])",
                (ids, [o["clientId"] for o in orders], [orjson.dumps(o).decode() for o in orders]),
            )
        pipe = self.redis.pipeline(transaction=False)
        for oid in ids:
            pipe.xadd(self.stream, {"id": str(oid)})
        pipe.execute()
        resp.data = orjson.dumps(
            {
                "results": [
                    {"status": 201, "order": {"id": str(i), "status": "pending"}} for i in ids
                ]
            }
        )
        resp.content_type = falcon.MEDIA_JSON


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = b"ok"


app = falcon.App()
app.add_route("/api/orders/execute", Orders())
app.add_route("/orders/batch", Batch())
app.add_route("/health", Health())
