"""The API application: REST routers and `/graphql` over one schema."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from redis.asyncio import Redis

from torale.admin import rest as admin_rest
from torale.auth.cache import AuthCache, cache_redis_client
from torale.auth.jwt import jwt_verifier_from_settings
from torale.config import Settings, get_settings
from torale.dashboard import mount_dashboard
from torale.db import create_engine, session_factory
from torale.executions import rest as executions_rest
from torale.feeds import rest as feeds_rest
from torale.graphql.endpoint import ToraleGraphQLRouter
from torale.graphql.executor import OperationRegistry
from torale.graphql.introspection import introspection_enabled
from torale.graphql.schema import schema_for
from torale.http import health
from torale.http.access_log import AccessLogMiddleware
from torale.http.admission import install_admission
from torale.http.body_size import MaxBodySizeMiddleware
from torale.http.deps import graphql_context
from torale.http.docs import install_docs
from torale.http.errors import install_error_handlers
from torale.http.flat_routes import add_routes_of
from torale.http.idempotency import install_idempotency
from torale.http.methods import LiteralPathMethodsMiddleware
from torale.http.openapi import install_openapi
from torale.http.ratelimit_headers import RateLimitHeadersMiddleware
from torale.http.request_session import RequestSessionMiddleware
from torale.observability import tracing
from torale.observability.api import install_observability, observability_lifespan
from torale.ratelimit import RateLimiter
from torale.ratelimit import redis_client as rate_limit_redis
from torale.runtime import Resources
from torale.scheduling.connection import TemporalConnection
from torale.tasks import rest as tasks_rest
from torale.users import rest as users_rest
from torale.webhooks import rest as webhooks_rest

if TYPE_CHECKING:
    import httpx

    from torale.graphql.schema import ToraleSchema

log = logging.getLogger(__name__)

NO_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def graphql_router(schema: ToraleSchema, settings: Settings, **options: Any) -> ToraleGraphQLRouter:
    """`/graphql`'s router; `options` go to Strawberry's `GraphQLRouter`."""
    return ToraleGraphQLRouter(
        schema,
        # Called with the request alone (it reads the request and its credentials).
        context_getter=graphql_context,
        # GraphiQL lives on introspection: served only where introspection is on.
        graphql_ide="graphiql" if introspection_enabled(settings) else None,
        **options,
    )


def _http_client() -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient(timeout=10.0)


class _DeliveryQueue:
    """The API's producer of delivery messages, built by the first redelivery: Dramatiq
    is needed for nothing else, so an API that never redelivers never imports it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: Callable[[uuid.UUID, int], Awaitable[None]] | None = None

    async def __call__(self, delivery_id: uuid.UUID, token: int) -> None:
        if self._producer is None:
            from torale.webhooks.queue import DeliveryProducer

            self._producer = DeliveryProducer.from_settings(self._settings)
        await self._producer(delivery_id, token)


async def open_resources(settings: Settings) -> Resources:
    if not (settings.database_url and settings.redis_url and settings.temporal_address):
        raise RuntimeError(
            "DATABASE_URL, REDIS_URL and TEMPORAL_ADDRESS must be set (`torale dev` and the "
            "other torale commands set them from the embedded servers)"
        )
    # Background work (key-use flushes, sweeps) keeps the pre-ping; requests don't: a
    # dead pooled connection fails a request's read once, and the read is retried.
    engine = create_engine(settings)
    request_engine = create_engine(settings, pre_ping=False)
    # The API's only outgoing HTTP is JWT's key fetches: without JWT, no client and no httpx.
    http = _http_client() if settings.jwt_issuer or settings.jwt_jwks_url else None
    # Short timeouts: a Redis outage must cost a request milliseconds, not seconds.
    limiter_redis = rate_limit_redis(settings.redis_url)
    return Resources(
        settings=settings,
        engine=engine,
        session_factory=session_factory(engine),
        request_engine=request_engine,
        request_sessions=session_factory(request_engine),
        redis=Redis.from_url(settings.redis_url),
        # Made on first use, so the API starts (and /ready reports) while Temporal is
        # still coming up, and requests that never need Temporal never load its SDK.
        temporal=TemporalConnection(
            settings.temporal_address,
            settings.temporal_namespace,
            interceptors=tracing.temporal_interceptors,
        ),
        http=http,
        rate_limiter=RateLimiter(
            limiter_redis, settings.rate_limits, fail_closed=settings.rate_limit_fail_closed
        ),
        key_creation_limiter=RateLimiter(
            limiter_redis,
            settings.api_key_creation_rate_limits,
            namespace="torale:rl:api-key-create",
            fail_closed=settings.rate_limit_fail_closed,
        ),
        anonymous_graphql_limiter=RateLimiter(
            limiter_redis,
            settings.graphql_anonymous_rate_limits,
            namespace="torale:rl:graphql-anonymous",
            fail_closed=settings.rate_limit_fail_closed,
        ),
        enqueue_delivery=_DeliveryQueue(settings),
        jwt=jwt_verifier_from_settings(settings, http),
        auth_cache=(
            AuthCache(
                cache_redis_client(settings.redis_url), ttl_seconds=settings.auth_cache_seconds
            )
            if settings.auth_cache_seconds
            else None
        ),
    )


async def close_resources(res: Resources) -> None:
    try:
        await res.last_used.flush(res.session_factory)
    except Exception:
        log.exception("could not write the last API key uses at shutdown")
    await res.redis.aclose()
    await res.rate_limiter.aclose()
    if res.auth_cache is not None:
        await res.auth_cache.aclose()
    if res.http is not None:
        await res.http.aclose()
    await res.engine.dispose()
    if res.request_engine is not None:
        await res.request_engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    schema = schema_for(settings)
    # Parsed and validated now, so a broken operation stops start-up, not a request.
    operations = OperationRegistry(schema)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        res = await open_resources(settings)
        app.state.resources = res
        flusher = asyncio.create_task(
            res.last_used.run_periodically(
                res.session_factory, settings.api_key_last_used_flush_seconds
            )
        )
        try:
            async with observability_lifespan(app, res):
                yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await close_resources(res)

    app = FastAPI(
        title="Torale API",
        version="0.1.0",
        description=(
            "Watch the web with grounded search and an LLM; get told when it matters.\n\n"
            "Every string in a request is refused (422) if it contains NUL (`\\u0000`) or "
            "an unpaired surrogate; unknown body fields are refused (422) naming the field."
        ),
        lifespan=lifespan,
        # /docs and /redoc are served from packaged assets instead (torale.http.docs).
        docs_url=None,
        redoc_url=None,
        # Traces are torale.observability.tracing's (its own provider, never a global
        # one). FastAPI's native telemetry would only ever switch on beside it (a second
        # span per request), and asking whether to costs every request ~15 us of
        # looking up OpenTelemetry's global providers.
        telemetry=NO_NATIVE_TELEMETRY,
    )
    app.state.operations = operations
    install_openapi(app, operations)
    install_docs(app)
    # Innermost: closes the request's session once answered (UnexpectedErrors, around
    # it, logs a close that fails).
    app.add_middleware(RequestSessionMiddleware)
    install_error_handlers(app)
    install_idempotency(app)
    app.add_middleware(RateLimitHeadersMiddleware)
    install_observability(app, settings)
    app.add_middleware(LiteralPathMethodsMiddleware)
    # Inside the body limit: a refused body never queues, and a body it has read is in
    # hand (torale.http.body_size.BODY_IN_HAND) while the request waits.
    install_admission(app, settings)
    # Outermost: an oversized body is refused before anything reads it.
    app.add_middleware(
        MaxBodySizeMiddleware, max_bytes=settings.max_request_body_bytes, graphql_path="/graphql"
    )
    if settings.access_log_sample > 0:  # off by default: not even installed
        app.add_middleware(AccessLogMiddleware, sample=settings.access_log_sample)
    add_routes_of(app, health.router)
    add_routes_of(app, users_rest.router)
    # Before tasks: /api/v1/tasks/preview and /suggest are not task ids.
    add_routes_of(app, executions_rest.router)
    add_routes_of(app, tasks_rest.router)
    add_routes_of(app, webhooks_rest.router)
    add_routes_of(app, admin_rest.router)
    add_routes_of(app, feeds_rest.router)
    app.include_router(graphql_router(schema, settings), prefix="/graphql", include_in_schema=False)
    mount_dashboard(app, settings)
    return app
