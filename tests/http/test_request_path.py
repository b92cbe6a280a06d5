"""What every request pays before and after its operation runs, kept small.

FastAPI runs a plain `def` endpoint or dependency in a worker thread: a thread hop per
request, about 0.2 ms of CPU on an idle machine and several times that under load
(measured in bench/README.md). Nothing on a request's path needs a thread.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts


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
