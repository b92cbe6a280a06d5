"""Put a router's routes on the app itself, rather than including the router.

FastAPI keeps an included router nested: a request is matched against every route of
every router before its own (each with FastAPI's bookkeeping in the scope), and then
again inside the router that matched, about 40 us of CPU per request for
`GET /api/v1/tasks`. Added to the app with `add_api_route`, the same routes, in the
same order, are matched once, by one flat list. The routes are declared on their
module's `APIRouter` (prefix and tags included): that router is only their template.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from torale.http.direct_routes import direct_handler, is_served_directly


class PrefixCheckedRoute(APIRoute):
    """An APIRoute that turns a path away with one string comparison when its pattern
    cannot match it: a route's pattern is its path's literal start (before any
    parameter) followed by the rest, so a path without that start is no match. A
    request is compared with every route before its own: a regular expression each
    costs about a microsecond."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        literal, brace, _ = path.partition("{")
        self._literal = literal
        self._exact = not brace

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # With a root path, the route path is computed from it: left to the pattern.
        if scope["type"] == "http" and not scope.get("root_path"):
            path = scope["path"]
            if path != self._literal if self._exact else not path.startswith(self._literal):
                return Match.NONE, {}
        return super().matches(scope)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        # A route marked `@served_directly` skips FastAPI's dependency solving.
        if not is_served_directly(self.endpoint):
            return super().get_route_handler()
        if self.dependencies:
            raise TypeError(f"{self.path}: route dependencies need FastAPI to solve them")
        return direct_handler(self.endpoint)


def add_routes_of(app: FastAPI, router: APIRouter) -> None:
    """Add each of `router`'s routes to `app` as it was declared (path with the router's
    prefix, tags, dependencies, responses, documentation)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r} is not an APIRoute; include its router instead")
        app.router.add_api_route(
            route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=route.responses,
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            route_class_override=PrefixCheckedRoute,
        )
