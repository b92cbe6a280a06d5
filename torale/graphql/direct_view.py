"""`/graphql` over HTTP without FastAPI's per-request dependency solving.

Strawberry's `GraphQLRouter` declares its GET and POST endpoints with FastAPI
dependencies: the context getter wrapped in a second dependency (which adds the
request, a `BackgroundTasks` and a `Response` to the context), a root-value getter and
a `Response` parameter. FastAPI solves them for every request with its general
machinery (~6% of a `/graphql` request's CPU). Strawberry's view needs none of it:
given no context, `run(request)` asks its own hooks, `get_root_value`,
`get_sub_response` and `get_context`, which `DirectGraphQLRouter` implements to build
the same things FastAPI would have handed it:

- the context the app's context getter makes from the request, with the request, a
  `BackgroundTasks` and the sub-response set on it as Strawberry's dependency sets them;
- a sub-response as FastAPI makes one (no status, no headers), made by `handle_http`
  and kept in the request's scope for `get_sub_response` (given the request alone).
  Strawberry copies its status and headers onto the answer; `create_response` attaches
  its background tasks, as FastAPI attaches them (tasks come from resolvers, so only an
  answer with results can have any);
- no root value (the app has no root-value getter).

The HTTP routes stay Strawberry's, declared as before (the OpenAPI document is
unchanged); only their handler is `run`, picked by the router's route class through
`get_route_handler`, FastAPI's documented way to customise how a route handles
requests. WebSocket connections are still FastAPI's (not an `APIRoute`), with the
context getter as their dependency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from cross_web import HTTPException
from fastapi.routing import APIRoute
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket
from strawberry.fastapi import BaseContext, GraphQLRouter

if TYPE_CHECKING:
    from strawberry.http import GraphQLHTTPResponse

RequestContext = Callable[[Request], Awaitable[BaseContext]]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]

_SUB_RESPONSE = "torale.graphql.sub_response"


class DirectGraphQLRouter(GraphQLRouter[BaseContext, None]):
    """A GraphQLRouter whose GET and POST routes are answered by `run(request)`.

    `context_getter` takes the request alone (FastAPI would have to read anything
    else). `route_class` may still be given, e.g. `APIRoute` for FastAPI's own handler.
    Nothing solves FastAPI dependencies here: the router's and its routes' own are
    refused at start-up; those of an `include_router` are out of the route's sight,
    so it must be given none.
    """

    def __init__(self, schema: Any, *, context_getter: RequestContext, **options: Any) -> None:
        if "root_value_getter" in options:
            raise TypeError("a root value getter is a FastAPI dependency: not served directly")
        self._request_context = context_getter
        options.setdefault("route_class", _served_by(self))
        super().__init__(schema, context_getter=context_getter, **options)

    async def get_root_value(self, request: Request | WebSocket) -> None:
        return None

    async def get_sub_response(self, request: Request) -> Response:
        # Strawberry's own endpoints leave FastAPI's on the router for this hook; a
        # request served directly carries its own (the hook is given nothing else).
        sub_response: Response | None = request.scope.get(_SUB_RESPONSE)
        if sub_response is None:
            return await super().get_sub_response(request)
        return sub_response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> BaseContext:
        if not isinstance(request, Request) or not isinstance(response, Response):
            # `run` asks only for HTTP requests: a WebSocket's context is a dependency.
            raise TypeError("a WebSocket's context is FastAPI's to solve")
        context = await self._request_context(request)
        tasks = BackgroundTasks()
        # As Strawberry's dependency fills them in; the tasks go with the answer.
        context.request = request
        context.background_tasks = tasks
        context.response = response
        response.background = tasks
        return context

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        # FastAPI runs the tasks a resolver added after sending the answer.
        response.background = sub_response.background
        return response

    async def handle_http(self, request: Request) -> Response:
        """The answer to a GET or POST, as Strawberry's endpoint for it gives it."""
        # The `Response` FastAPI makes for a route that asks for one: no status, no
        # headers; Strawberry copies what resolvers set on it onto the answer.
        sub_response = Response()
        del sub_response.headers["content-length"]
        sub_response.status_code = None  # type: ignore[assignment]
        request.scope[_SUB_RESPONSE] = sub_response
        try:
            return await self.run(request)
        except HTTPException as exc:
            return PlainTextResponse(exc.reason, status_code=exc.status_code)


def _served_by(router: DirectGraphQLRouter) -> type[APIRoute]:
    class DirectGraphQLRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            if self.dependencies:
                raise TypeError(f"{self.path}: route dependencies need FastAPI to solve them")
            if self.methods is None or not self.methods <= {"GET", "POST"}:
                raise TypeError(f"{self.path}: only GraphQL's GET and POST are served directly")
            return router.handle_http

    return DirectGraphQLRoute
