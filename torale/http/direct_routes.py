"""Routes that FastAPI declares and documents, and that answer without its per-request
dependency solving.

For every request FastAPI solves the route's dependencies and reads its parameters with
general machinery: per dependency a cache key, a response and bookkeeping (about 25 us
of CPU for the one a REST route has); per query parameter its aliases, whether its type
is a sequence, a copy of its default and a validator of its own (about 10 us each, 40 us
for the task list's four). A route marked `@served_directly` is handled by a handler made
once from its function's signature (`direct_handler`), which does the same work in a
few lines:

- each dependency, called with the request (only dependencies that take nothing else
  qualify), in the order of the signature, once per request;
- the query parameters, the last value of each as FastAPI takes it (`query_values`,
  without building Starlette's multi-dict of them), validated together
  by one Pydantic model made from the same declarations: a refusal is the
  RequestValidationError FastAPI would raise, its errors in the parameters' order with
  their `("query", name)` locations, raised after the dependencies as FastAPI raises it
  (a caller without credentials is told 401 first);
- the function, whose answer must be a Response (it is sent as it is, as FastAPI sends
  one).

Anything else FastAPI would have to read (a path parameter, a header, a body) makes
`direct_handler` refuse the route at start-up: FastAPI reports its errors together with
the query's. The route itself stays an ordinary FastAPI route, so the OpenAPI document
describes it as declared; `PrefixCheckedRoute.get_route_handler` (FastAPI's documented
way to customise how a route handles requests) picks the handler.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, get_type_hints
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends, Query
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from starlette.responses import Response

_MARKED: set[Callable[..., Any]] = set()

F = TypeVar("F", bound=Callable[..., Any])
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def served_directly(endpoint: F) -> F:
    """Marks a route function to be served by `direct_handler(endpoint)`."""
    _MARKED.add(endpoint)
    return endpoint


def is_served_directly(endpoint: Callable[..., Any]) -> bool:
    return endpoint in _MARKED


class _Query(BaseModel):
    # Parameters a route does not declare are ignored, as FastAPI ignores them.
    model_config = ConfigDict(extra="ignore")


def direct_handler(endpoint: Callable[..., Awaitable[Any]]) -> Handler:
    """A handler for a route running `endpoint`, as FastAPI would run it."""
    name_of = endpoint.__qualname__
    if not inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{name_of} is not a coroutine function")
    hints = get_type_hints(endpoint, include_extras=True)
    fields: dict[str, Any] = {}
    dependencies: list[tuple[str, Callable[[Request], Awaitable[Any]]]] = []
    for name, parameter in inspect.signature(endpoint).parameters.items():
        annotation = hints.get(name, Any)
        declared = parameter.default
        if isinstance(declared, Query):
            # FastAPI sets a parameter's alias to its name when it reads the route.
            if declared.alias not in (None, name) or declared.validation_alias:
                raise TypeError(f"{name_of}: query parameter {name!r} has an alias")
            fields[name] = (annotation, declared)
            continue
        depends = _depends_of(annotation, declared)
        if depends is None:
            raise TypeError(
                f"{name_of}: FastAPI must read {name!r} (neither a query parameter nor a "
                "dependency), and the query with it"
            )
        dependencies.append((name, _request_only(name_of, depends)))
    validate = create_model(
        f"{endpoint.__name__}_query", __base__=_Query, **fields
    ).__pydantic_validator__.validate_python
    names = tuple(fields)

    async def handle(request: Request) -> Response:
        values: dict[str, Any] = {}
        solved: dict[Callable[..., Any], Any] = {}  # FastAPI calls each dependency once
        for name, dependency in dependencies:
            if dependency not in solved:
                solved[dependency] = await dependency(request)
            values[name] = solved[dependency]
        if names:
            received = query_values(request.scope["query_string"])
            given = {}
            for name in names:
                value = received.get(name)
                if value is not None:
                    given[name] = value
            try:
                query = validate(given)
            except ValidationError as exc:
                raise RequestValidationError(
                    [
                        {**error, "loc": ("query", *error["loc"])}
                        for error in exc.errors(include_url=False)
                    ]
                ) from None
            for name in names:
                values[name] = getattr(query, name)
        response = await endpoint(**values)
        if not isinstance(response, Response):
            raise TypeError(f"{name_of} answered {type(response).__name__}, not a Response")
        return response

    return handle


def query_values(query_string: bytes) -> dict[str, str]:
    """The query's parameters, the last value of each: what `request.query_params.get`
    answers (Starlette parses with `parse_qsl`, a value left blank kept), without the
    multi-dict. Only a query with something to decode (`%`, `+`) needs `parse_qsl`,
    which costs several microseconds even for `page=1&limit=20`."""
    text = query_string.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    values = {}
    for pair in text.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            values[name] = value
    return values


def _depends_of(annotation: Any, default: Any) -> Depends | None:
    if isinstance(default, Depends):
        return default
    for item in getattr(annotation, "__metadata__", ()):
        if isinstance(item, Depends):
            return item
    return None


def _request_only(route: str, depends: Depends) -> Callable[[Request], Awaitable[Any]]:
    """The dependency's function, if it is a coroutine function of the request alone."""
    dependency = depends.dependency
    if dependency is None or not inspect.iscoroutinefunction(dependency):
        raise TypeError(f"{route}: a dependency that is not a coroutine function")
    if not depends.use_cache:
        raise TypeError(f"{route}: {dependency.__qualname__} is asked for on every use")
    hints = get_type_hints(dependency)
    parameters = inspect.signature(dependency).parameters
    if len(parameters) != 1 or any(hints.get(p) is not Request for p in parameters):
        raise TypeError(f"{route}: {dependency.__qualname__} takes more than the request")
    return dependency
