"""The Falcon app factory; gunicorn serves `service.api.app:get_app()`."""

from __future__ import annotations

import logging
from typing import Any

import falcon
import orjson
from falcon import media

from service.api.auth import AuthMiddleware
from service.api.batch import BatchResource
from service.api.client_rate_limit import (
    RateLimiter,
    RateLimitMiddleware,
    SourceLimitMiddleware,
)
from service.api.market_commands import MarketCommands
from service.api.openapi import OpenApiResource, build_openapi
from service.api.pages import add_pages
from service.api.resources import (
    HealthResource,
    MarketsResource,
    MetricsResource,
    OrdersResource,
    QuoteResource,
)
from service.api.sim import SimResource
from service.api.source import SourceResolver
from service.config import Settings
from service.domain.markets import load_markets
from service.errors import ApiError, unavailable
from service.store.orders import OrderStore, Unavailable

log = logging.getLogger(__name__)


def _render_api_error(
    req: falcon.Request, resp: falcon.Response, ex: ApiError, params: dict[str, Any]
) -> None:
    resp.status = ex.status
    resp.media = ex.body()
    for name, value in ex.headers.items():
        resp.set_header(name, value)


def _render_unavailable(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict[str, Any]
) -> None:
    """PostgreSQL down (or restarting) under any resource: the contract's 503, one place."""
    _render_api_error(req, resp, unavailable("postgres"), params)


def _render_http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError) -> None:
    """Falcon's own errors (unknown route, wrong method, bad uuid) in the contract's shape."""
    code = {404: "not_found", 405: "method_not_allowed"}.get(ex.status_code, "bad_request")
    resp.data = orjson.dumps({"error": {"code": code, "message": ex.title or code}})
    resp.content_type = falcon.MEDIA_JSON


def _render_unexpected(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict[str, Any]
) -> None:
    if isinstance(ex, falcon.HTTPError):
        raise ex
    log.exception("unhandled error on %s %s", req.method, req.path)
    resp.status = falcon.HTTP_500
    resp.media = {"error": {"code": "internal_error", "message": "internal error"}}


def create_app(
    settings: Settings, *, store: OrderStore | None = None, queue: MarketCommands | None = None
) -> falcon.App:
    markets = load_markets(settings.markets_file)
    store = store or OrderStore(settings.database_url, settings.db_pool_size)
    store.open()
    queue = queue or MarketCommands(settings)
    app = falcon.App()
    limiter = RateLimiter(settings)
    by_source = SourceLimitMiddleware(limiter, SourceResolver(settings.trusted_proxies))
    app.add_middleware(by_source)  # first the source's budget, then the key, then the client's
    app.add_middleware(
        AuthMiddleware(
            settings.api_keys,
            store,
            operator_keys=settings.operator_api_keys,
            bad_key=by_source.bad_key,
        )
    )
    app.add_middleware(RateLimitMiddleware(limiter))
    json = media.JSONHandler(dumps=orjson.dumps, loads=orjson.loads)
    app.req_options.media_handlers[falcon.MEDIA_JSON] = json
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json
    app.req_options.strip_url_path_trailing_slash = True

    orders = OrdersResource(settings, markets, store, queue)
    markets_res = MarketsResource(markets, store)
    app.add_route("/orders", orders)
    app.add_route("/api/orders/execute", orders)
    batch = BatchResource(orders)  # up to 100 orders, one commit: api/batch.py
    app.add_route("/orders/batch", batch)
    app.add_route("/api/orders/batch", batch)
    app.add_route("/orders/{order_id:uuid}", orders, suffix="item")
    app.add_route("/orders/{order_id:uuid}/events", orders, suffix="events")
    app.add_route("/markets", markets_res)
    app.add_route("/quote", QuoteResource(markets_res))
    app.add_route("/health", HealthResource(store, queue))
    app.add_route("/metrics", MetricsResource(store))
    app.add_route("/openapi.json", OpenApiResource(build_openapi(settings, markets)))
    add_pages(app, settings)  # /, /blotter, /docs, /config.json, /static/…
    if settings.sim_enabled:
        sim = SimResource(
            markets, queue, markets_res, settings.max_body_bytes, settings.sim_max_price_ratio
        )
        app.add_route("/sim/launch", sim, suffix="launch")
        app.add_route("/sim/price", sim, suffix="price")

    app.add_error_handler(Exception, _render_unexpected)
    app.add_error_handler(ApiError, _render_api_error)
    for outage in Unavailable:
        app.add_error_handler(outage, _render_unavailable)
    app.set_error_serializer(_render_http_error)
    return app


def get_app() -> falcon.App:
    """Entry for gunicorn: settings from the environment, connections opened after fork."""
    return create_app(Settings.from_env())
