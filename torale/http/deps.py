"""FastAPI dependencies that build the per-request GraphQL context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from torale.auth.authenticate import authenticate
from torale.errors import Unauthenticated
from torale.graphql.context import ToraleContext
from torale.graphql.executor import OperationRegistry
from torale.runtime import Resources

# Declared for the OpenAPI document only; the header is parsed by `authenticate`
# so that every failure gets the contract's exact message.
_bearer = HTTPBearer(auto_error=False, description="An API key (sk_...) or an OIDC JWT")


def resources(request: Request) -> Resources:
    return request.app.state.resources


def operations(request: Request) -> OperationRegistry:
    return request.app.state.operations


async def rest_context(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> AsyncIterator[ToraleContext]:
    """Authenticated context for a REST handler: a bad credential is a 401 right here."""
    res = resources(request)
    async with res.session_factory() as session:
        subject = await authenticate(session, request.headers.get("authorization"), res.last_used)
        yield ToraleContext(resources=res, session=session, subject=subject)


async def graphql_context(request: Request) -> AsyncIterator[ToraleContext]:
    """Context for `/graphql`: an unauthenticated caller reaches resolvers, which refuse."""
    res = resources(request)
    async with res.session_factory() as session:
        subject, error = None, None
        try:
            subject = await authenticate(
                session, request.headers.get("authorization"), res.last_used
            )
        except Unauthenticated as exc:
            error = exc
        yield ToraleContext(resources=res, session=session, subject=subject, auth_error=error)


RestContext = Annotated[ToraleContext, Depends(rest_context)]
Operations = Annotated[OperationRegistry, Depends(operations)]
