"""`/metrics` for the API: request metrics middleware, the protected route, its own port.

Where `/metrics` is served is configuration (torale.config):
- `TORALE_METRICS_PORT` set: on that port only (host `TORALE_METRICS_HOST`, default
  127.0.0.1), a listener the API runs beside its own, so the public port never shows it;
- `TORALE_METRICS_TOKEN` set: also on the API port, for `Authorization: Bearer <token>`;
  on the metrics port the token is asked for too when it is set;
- neither: not served at all (404), so nothing is exposed by accident.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlalchemy import func, select
from sqlmodel import col
from starlette.types import ASGIApp, Receive, Scope, Send

from torale.config import Settings
from torale.http.response_status import NotedStatus
from torale.observability import metrics
from torale.runtime import Resources

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
UNMATCHED_ROUTE = "unmatched"
# Any other method string a client sends is counted as OTHER: label values stay few.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """Counts every HTTP request by its route template (`/api/v1/tasks/{task_id}`, never
    the raw path: label values stay few) and status, and times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        noted = NotedStatus(send)
        try:
            await self.app(scope, receive, noted)
        finally:
            template = route_template(scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            seconds = time.perf_counter() - started
            metrics.observe_request(method, template, noted.status, seconds)


def route_template(scope: Scope) -> str:
    """The matched route's full template, e.g. `/api/v1/tasks/{task_id}`.

    The router leaves the matched route in the scope, but a route of a router included
    with a prefix (as `/graphql` is) carries only its own part of the path: the prefix
    is then the part of the request path before the longest tail the route matches
    whole (a `{x:path}` parameter may so swallow the prefix: the label stays bounded)."""
    route = scope.get("route")
    regex = getattr(route, "path_regex", None)
    if route is None or regex is None:
        return UNMATCHED_ROUTE
    path = scope.get("path", "")
    if regex.match(path):
        return route.path
    for cut in range(len(path)):
        if path[cut] == "/" and regex.match(path[cut:]):
            return path[:cut] + route.path
    if regex.match(""):
        return path + route.path
    return UNMATCHED_ROUTE


async def read_queue_depth(res: Resources) -> metrics.QueueDepth | None:
    """Queue depth now; None (and a warning) when Redis or PostgreSQL cannot tell."""
    from torale.webhooks.models import Delivery, DeliveryStatus
    from torale.webhooks.queue import QUEUE_NAME

    namespace = res.settings.dramatiq_namespace
    try:
        # Dramatiq's Redis broker keeps each queue's messages in a hash, delayed
        # retries in the `.DQ` queue's.
        async with res.redis.pipeline(transaction=False) as pipe:
            pipe.hlen(f"{namespace}:{QUEUE_NAME}.msgs")
            pipe.hlen(f"{namespace}:{QUEUE_NAME}.DQ.msgs")
            ready, delayed = await pipe.execute()
        async with res.session_factory() as session:
            pending = col(Delivery.status) == DeliveryStatus.PENDING
            due = func.coalesce(col(Delivery.next_attempt_at), func.now()) <= func.now()
            row = (
                await session.execute(select(func.count(), func.count().filter(due)).where(pending))
            ).one()
    except Exception as exc:  # a scrape must still answer with what processes recorded
        log.warning("queue depth not read for /metrics: %s: %s", type(exc).__name__, exc)
        return None
    return metrics.QueueDepth(
        dramatiq_ready=int(ready),
        dramatiq_delayed=int(delayed),
        outbox_pending=int(row[0]),
        outbox_due=int(row[1]),
    )


def _authorized(settings: Settings, authorization: str | None) -> bool:
    if settings.metrics_token is None:
        return True
    expected = f"Bearer {settings.metrics_token.get_secret_value()}"
    return hmac.compare_digest((authorization or "").encode(), expected.encode())


async def _answer(request: Request, res: Resources) -> Response:
    if not _authorized(res.settings, request.headers.get("authorization")):
        return Response(
            '{"detail":"Invalid metrics token"}',
            status_code=401,
            media_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )
    depth = await read_queue_depth(res)
    return Response(metrics.render(depth), media_type=metrics.CONTENT_TYPE)


def install_metrics(app: FastAPI, settings: Settings) -> None:
    """Request metrics for every route; `/metrics` on the API port when a token is set."""
    app.add_middleware(RequestMetricsMiddleware)
    if settings.metrics_token is None:
        return

    @app.get(METRICS_PATH, include_in_schema=False)
    async def metrics_on_api_port(request: Request) -> Response:
        return await _answer(request, request.app.state.resources)


def _metrics_app(res: Resources) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get(METRICS_PATH)
    async def metrics_on_own_port(request: Request) -> Response:
        return await _answer(request, res)

    return app


class _QuietServer:
    """A uvicorn server that leaves signals alone: the API process owns them, and this
    listener stops when the API's lifespan ends."""

    @staticmethod
    def build(app: FastAPI, host: str, port: int) -> Any:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        return Server(config)


@contextlib.asynccontextmanager
async def metrics_listener(res: Resources) -> AsyncIterator[Any]:
    """The metrics port's server, run on the API's event loop; None when not configured.
    The bound port (0 picks a free one) is `bound_port(server)`."""
    settings = res.settings
    if settings.metrics_port is None:
        yield None
        return
    server = _QuietServer.build(_metrics_app(res), settings.metrics_host, settings.metrics_port)
    serving = asyncio.create_task(server.serve())
    # uvicorn offers a flag, not an event, for "listening": poll it briefly.
    while not server.started and not serving.done():  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    if serving.done():
        with contextlib.suppress(SystemExit):
            serving.result()
        raise RuntimeError(
            f"/metrics could not listen on {settings.metrics_host}:{settings.metrics_port}"
        )
    try:
        yield server
    finally:
        server.should_exit = True
        await serving


def bound_port(server: Any) -> int:
    return server.servers[0].sockets[0].getsockname()[1]
