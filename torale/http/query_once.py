"""Query parameters read by one validator per route, not by FastAPI parameter by parameter.

FastAPI reads each declared query parameter of each request on its own: it looks up the
parameter's aliases and whether its type is a sequence, copies its default and runs its
own validator, about 10 us of CPU a parameter (40 us for the task list's four). A route
marked `@query_read_once` is served by a stand-in endpoint instead: it reads the same
parameters (the last value of each, as FastAPI does) and validates them together with
one Pydantic model made from the same declarations, then calls the route's function.

Nothing a client sees changes:

- a refusal is the RequestValidationError FastAPI would raise, its errors in the
  parameters' order with their `("query", name)` locations;
- the OpenAPI document is made from the route as declared (`documented_route`);
- it is raised where FastAPI would raise it, after the route's dependencies (a caller
  without credentials is told 401 first), which is why only routes whose every other
  input is a dependency qualify: FastAPI would report a path or body error together
  with the query's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, get_type_hints

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends, Query
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

_MARKED: set[Callable[..., Any]] = set()
_REQUEST = "_torale_request"

Endpoint = Callable[..., Coroutine[Any, Any, Any]]
E = TypeVar("E", bound=Endpoint)


def query_read_once(endpoint: E) -> E:
    """Marks a route function whose query parameters are read by one validator: added
    to the app with `add_routes_of`, it is served by `reading_endpoint(endpoint)`."""
    _MARKED.add(endpoint)
    return endpoint


def reads_query_once(endpoint: Callable[..., Any]) -> bool:
    return endpoint in _MARKED


class _Query(BaseModel):
    # Parameters a route does not declare are ignored, as FastAPI ignores them.
    model_config = ConfigDict(extra="ignore")


def reading_endpoint(endpoint: Endpoint) -> Endpoint:
    """A stand-in for `endpoint` that FastAPI calls with its dependencies (and the
    request) only, and that reads and validates the query parameters itself."""
    signature = inspect.signature(endpoint)
    hints = get_type_hints(endpoint, include_extras=True)
    fields: dict[str, Any] = {}
    kept: list[inspect.Parameter] = []
    for name, parameter in signature.parameters.items():
        annotation = hints.get(name, Any)
        if isinstance(parameter.default, Query):
            # FastAPI sets a parameter's alias to its name when it reads the route.
            if parameter.default.alias not in (None, name) or parameter.default.validation_alias:
                raise TypeError(f"{endpoint.__name__}: query parameter {name!r} has an alias")
            fields[name] = (annotation, parameter.default)
        elif _is_dependency(annotation, parameter.default):
            kept.append(parameter.replace(annotation=annotation))
        else:
            raise TypeError(
                f"{endpoint.__name__}: {name!r} is neither a query parameter nor a "
                "dependency; FastAPI must read it (and the query with it)"
            )
    model = create_model(f"{endpoint.__name__}_query", __base__=_Query, **fields)
    validate = model.__pydantic_validator__.validate_python
    names = tuple(fields)

    async def read_then_call(**kwargs: Any) -> Any:
        received = kwargs.pop(_REQUEST).query_params
        values = {}
        for name in names:
            value = received.get(name)
            if value is not None:
                values[name] = value
        try:
            query = validate(values)
        except ValidationError as exc:
            raise RequestValidationError(
                [
                    {**error, "loc": ("query", *error["loc"])}
                    for error in exc.errors(include_url=False)
                ]
            ) from None
        return await endpoint(**kwargs, **{name: getattr(query, name) for name in names})

    request = inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
    read_then_call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept), request]
    )
    read_then_call.__name__ = endpoint.__name__
    read_then_call.__qualname__ = endpoint.__qualname__
    read_then_call.__doc__ = endpoint.__doc__
    return read_then_call


def _is_dependency(annotation: Any, default: Any) -> bool:
    if isinstance(default, Depends):
        return True
    metadata = getattr(annotation, "__metadata__", ())
    return any(isinstance(item, Depends) for item in metadata)
