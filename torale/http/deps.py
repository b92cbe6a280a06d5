"""FastAPI dependencies that authenticate, rate-limit and build the GraphQL context."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from torale.auth.authenticate import JWT_REQUIRED, SYNC_FIRST, Credentials, authenticate
from torale.errors import DatabaseUnavailable, Unauthenticated
from torale.graphql.context import ToraleContext
from torale.graphql.executor import OperationRegistry
from torale.http.errors import mark_graphql_request
from torale.http.openapi import OPERATION_KEY, documents_bearer
from torale.http.ratelimit_headers import remember_headers
from torale.http.request_session import open_request_session
from torale.ratelimit import RateLimiter, RateLimitResult
from torale.ratelimit import headers as rate_limit_headers
from torale.runtime import Resources


def resources(request: Request) -> Resources:
    return request.app.state.resources


def operations(request: Request) -> OperationRegistry:
    return request.app.state.operations


async def _credentials(
    request: Request, session: AsyncSession, *, count: bool = False
) -> Credentials:
    """`count`: a caller answered from the auth cache is also counted against the rate
    limits in that same Redis round trip (`_count_request` then has nothing to do)."""
    res = resources(request)

    async def attempt() -> Credentials:
        return await authenticate(
            session,
            request.headers.get("authorization"),
            settings=res.settings,
            last_used=res.last_used,
            verifier=res.jwt,
            cache=res.auth_cache,
            limiter=res.rate_limiter if count else None,
        )

    try:
        return await attempt()
    except DatabaseUnavailable:
        # A pooled connection a PostgreSQL restart killed (the API sends no pre-ping):
        # the pool has dropped those, the lookup (a read) runs once more.
        await session.rollback()
        return await attempt()


def _counted(request: Request, result: RateLimitResult) -> None:
    """429 past a limit, headers either way."""
    remember_headers(request, rate_limit_headers(result))
    result.raise_for_limit()


async def _count(request: Request, limiter: RateLimiter, identity: str) -> None:
    """One Redis round trip for every window."""
    _counted(request, await limiter.hit(identity))


async def _count_request(request: Request, credentials: Credentials) -> None:
    subject = credentials.require_subject()
    if credentials.rate_limit is not None:  # counted with the cache lookup already
        _counted(request, credentials.rate_limit)
        return
    await _count(request, resources(request).rate_limiter, subject.rate_limit_identity)


async def _count_without_user(request: Request, credentials: Credentials | None) -> None:
    """A verified token of a user not synced yet counts per subject like any caller;
    everyone else (no credential, or one that failed) per client address, separately."""
    res = resources(request)
    if credentials is not None and credentials.claims is not None:
        await _count(request, res.rate_limiter, f"sub:{credentials.claims.sub}")
        return
    # The client address as uvicorn reports it: X-Forwarded-For is honoured only from
    # the proxies in FORWARDED_ALLOW_IPS (default 127.0.0.1), so it cannot be spoofed.
    address = request.client.host if request.client else "unknown"
    await _count(request, res.anonymous_graphql_limiter, f"addr:{address}")


async def rest_context(request: Request) -> ToraleContext:
    """Authenticated, counted context for a REST handler: refusals happen right here."""
    res = resources(request)
    session = open_request_session(request, res.sessions_for_requests())
    credentials = await _credentials(request, session, count=True)
    subject = credentials.require_subject()
    await _count_request(request, credentials)
    return ToraleContext(resources=res, session=session, subject=subject)


async def identity_context(request: Request) -> ToraleContext:
    """For `POST /auth/sync-user`: a verified JWT is enough, the user may not exist yet."""
    res = resources(request)
    session = open_request_session(request, res.sessions_for_requests())
    credentials = await _credentials(request, session)
    if credentials.claims is None:
        raise Unauthenticated(JWT_REQUIRED)
    if credentials.subject is not None:
        await _count_request(request, credentials)
    else:
        await _count_without_user(request, credentials)
    return ToraleContext(
        resources=res,
        session=session,
        subject=credentials.subject,
        claims=credentials.claims,
    )


async def graphql_context(request: Request) -> ToraleContext:
    """Context for `/graphql`: an unauthenticated caller reaches resolvers, which refuse."""
    # A refusal raised here (429, 503) is answered GraphQL-shaped (torale.http.errors).
    mark_graphql_request(request)
    res = resources(request)
    session = open_request_session(request, res.sessions_for_requests())
    credentials, error = None, None
    try:
        credentials = await _credentials(request, session, count=True)
    except Unauthenticated as exc:
        error = exc
    subject = credentials.subject if credentials else None
    if credentials is not None and subject is not None:
        await _count_request(request, credentials)
    else:
        await _count_without_user(request, credentials)
        if credentials is not None:
            error = Unauthenticated(SYNC_FIRST)
    return ToraleContext(
        resources=res,
        session=session,
        subject=subject,
        auth_error=error,
        claims=credentials.claims if credentials else None,
    )


async def public_context(request: Request) -> ToraleContext:
    """For public documents (feeds): no credential is read; counted per client address
    under the anonymous limits, like `/graphql` without a credential."""
    res = resources(request)
    session = open_request_session(request, res.session_factory)
    await _count_without_user(request, None)
    return ToraleContext(resources=res, session=session, subject=None)


class RouteOperation:
    """The operation a route declared with `runs(...)`: named once, where it is documented."""

    def __init__(self, registry: OperationRegistry, name: str) -> None:
        self._registry = registry
        self._name = name
        self._root_key = registry.root_key(name)

    async def run(self, context: ToraleContext, variables: dict[str, Any] | None = None) -> Any:
        """Run it; the data under its root field, which is the REST body."""
        data = await self._registry.run(self._name, context, variables)
        return data[self._root_key]


_ROUTE_OPERATIONS_KEY = "torale_route_operations"


def route_operation(request: Request) -> RouteOperation:
    name = request.scope["route"].openapi_extra[OPERATION_KEY]
    state = request.app.state
    # One per operation, made on first use: the registry is per app.
    cache: dict[str, RouteOperation] | None = getattr(state, _ROUTE_OPERATIONS_KEY, None)
    if cache is None:
        cache = {}
        setattr(state, _ROUTE_OPERATIONS_KEY, cache)
    found = cache.get(name)
    if found is None:
        found = cache[name] = RouteOperation(operations(request), name)
    return found


class RouteCall:
    """What a REST handler needs: its request's context and the operation its route runs.

    One dependency rather than one for each: FastAPI spends about 9 us of CPU solving
    each dependency of each request."""

    __slots__ = ("_operation", "context")

    def __init__(self, context: ToraleContext, operation: RouteOperation) -> None:
        self.context = context
        self._operation = operation

    async def run(self, variables: dict[str, Any] | None = None) -> Any:
        """Run the route's operation; the data under its root field (the REST body)."""
        return await self._operation.run(self.context, variables)


# The header is parsed by `authenticate`, so that every failure gets the contract's
# exact message; the OpenAPI document names the scheme (`documents_bearer`).
@documents_bearer
async def rest_call(request: Request) -> RouteCall:
    return RouteCall(await rest_context(request), route_operation(request))


@documents_bearer
async def identity_call(request: Request) -> RouteCall:
    return RouteCall(await identity_context(request), route_operation(request))


async def public_call(request: Request) -> RouteCall:
    return RouteCall(await public_context(request), route_operation(request))


RestCall = Annotated[RouteCall, Depends(rest_call)]
IdentityCall = Annotated[RouteCall, Depends(identity_call)]
PublicCall = Annotated[RouteCall, Depends(public_call)]
