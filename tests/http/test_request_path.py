"""What every request pays before and after its operation runs, kept small.

FastAPI runs a plain `def` endpoint or dependency in a worker thread: a thread hop per
request, about 0.2 ms of CPU on an idle machine and several times that under load
(measured in bench/README.md). Nothing on a request's path needs a thread.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import event
from sqlalchemy.orm import Session


def _is_async(call: Any) -> bool:
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    # Security schemes and other callable objects: their __call__ decides.
    if not callable(call):
        return False
    method = type(call).__call__
    return inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)


def _calls(dependant: Dependant) -> Iterator[Any]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _api_routes(app: Any) -> Iterator[APIRoute]:
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context.original_route


def test_no_endpoint_or_dependency_runs_in_a_worker_thread(settings):
    from torale.app import create_app

    app = create_app(settings)
    routes = list(_api_routes(app))
    assert "/api/v1/tasks" in {route.path for route in routes}
    threaded = sorted(
        f"{sorted(route.methods)} {route.path}: {getattr(call, '__qualname__', call)!r}"
        for route in routes
        for call in _calls(route.dependant)
        if not _is_async(call)
    )
    assert threaded == []


def test_bearer_auth_is_documented_not_solved_per_request(settings):
    """The bearer scheme is in the OpenAPI document of every authenticated operation,
    without a FastAPI security dependency solved (and ignored) on every request."""
    from fastapi.security.base import SecurityBase

    from torale.app import create_app

    app = create_app(settings)
    solved = [
        f"{route.path}: {call!r}"
        for route in _api_routes(app)
        for call in _calls(route.dependant)
        if isinstance(call, SecurityBase)
    ]
    assert solved == []
    document = app.openapi()
    assert document["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (sk_...) or an OIDC JWT",
        }
    }
    secured = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == [{"HTTPBearer": []}]
    }
    unsecured = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "security" not in operation
    }
    assert {"GET /api/v1/tasks", "POST /auth/sync-user", "GET /admin/users"} <= secured
    assert unsecured == {"GET /health", "GET /ready", "GET /public/tasks/{task_id}/feed.atom"}


async def test_every_request_session_is_closed_once_answered(client, make_account, resources):
    """Sessions are closed by RequestSessionMiddleware, not by a `yield` dependency:
    answered, refused or failed, no request keeps a pooled connection."""
    account = await make_account()
    pool = resources.request_engine.pool
    # Held here, so that the garbage collector cannot return what a request kept.
    began: list[Session] = []

    def hold(session: Session, *_: object) -> None:
        began.append(session)

    event.listen(Session, "after_begin", hold)
    try:
        answers = await _answers(client, account)
    finally:
        event.remove(Session, "after_begin", hold)
    assert [a.status_code for a in answers] == [200, 422, 404, 401, 200, 200]
    # The list (its key looked up), the 404 and the unknown key begin one; the cached
    # caller's GraphQL read runs on the driver and begins none (torale.driver_reads).
    assert len(began) >= 3
    assert pool.checkedout() == 0


async def _answers(client, account) -> list[Any]:
    return [
        await client.get("/api/v1/tasks", headers=account.headers),
        await client.get("/api/v1/tasks?limit=0", headers=account.headers),
        await client.get(f"/api/v1/tasks/{uuid.uuid4()}", headers=account.headers),
        # An unknown key is looked up in the database, then refused.
        await client.get("/api/v1/tasks", headers={"Authorization": "Bearer sk_" + "x" * 32}),
        await client.post(
            "/graphql", json={"query": "{ tasks { total } }"}, headers=account.headers
        ),
        await client.post("/graphql", json={"query": "{ tasks { total } }"}),
    ]


async def test_a_request_session_needs_the_middleware_that_closes_it():
    from starlette.requests import Request

    from torale.http.request_session import open_request_session

    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    with pytest.raises(RuntimeError, match="RequestSessionMiddleware"):
        open_request_session(request, lambda: None)  # type: ignore[arg-type]


def test_every_documented_operation_is_a_route_of_the_app_itself(settings):
    """Routes are matched by one flat list: FastAPI matches an included router's routes
    twice (once to choose the router, once inside it), with bookkeeping at each."""
    from fastapi.routing import APIRoute

    from torale.app import create_app

    app = create_app(settings)
    flat = {
        (route.path_format, method.lower())
        for route in app.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    documented = {
        (path, method) for path, item in app.openapi()["paths"].items() for method in item
    }
    assert ("/api/v1/tasks", "get") in documented
    assert documented - flat == set()


def test_a_rest_route_solves_one_dependency_for_its_context_and_operation(settings):
    """FastAPI spends about 9 us of CPU on each dependency of each request: the
    authenticated context and the route's operation come as one."""
    from torale.app import create_app
    from torale.http.idempotency import claim_idempotency_key
    from torale.http.openapi import OPERATION_KEY

    app = create_app(settings)
    solved = {
        f"{sorted(route.methods)} {route.path}": set(_calls(route.dependant)) - {route.endpoint}
        for route in _api_routes(app)
        if OPERATION_KEY in (route.openapi_extra or {})
    }
    assert "['GET'] /api/v1/tasks" in solved
    assert {name: len(calls - {claim_idempotency_key}) for name, calls in solved.items()} == {
        name: 1 for name in solved
    }
