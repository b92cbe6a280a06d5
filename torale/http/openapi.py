"""The OpenAPI document, with each REST response described by its GraphQL operation.

A route declares the operation it runs with `**runs("Task")`, once: its handler runs
it through the `Operation` dependency (`torale.http.deps`), and the document describes
its success response from that operation's selection set
(`torale.graphql.response_schema`) and names it in `x-graphql-operation`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from torale.graphql.executor import OperationRegistry
from torale.graphql.response_schema import ResponseSchemas

OPERATION_KEY = "x-graphql-operation"


# Routes whose change can take access away: refused while cached credentials cannot be
# invalidated (torale.auth.cache).
REVOKING = "Cached credentials could not be invalidated, or a dependency is down; nothing changed"

# Answers every authenticated route can give (SPEC §3, §8); the rest are declared per
# route with `runs(..., refusals=...)`.
_EVERY_ROUTE: dict[int, str] = {
    401: "Authorization header missing, invalid or expired credentials",
    429: "Rate limit exceeded; retry after `retry_after` seconds",
    503: "A dependency (database, scheduler, rate-limit store) is unavailable; nothing was changed",
}
_WITH_INPUT: dict[int, str] = {422: "An input is missing, unknown or invalid"}
_WITH_BODY: dict[int, str] = {
    400: "The request body could not be read (not UTF-8)",
    413: "Request body too large",
}


_ERROR = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
}
ERROR_COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": _ERROR,
    "RateLimitError": {
        "type": "object",
        "required": ["detail", "retry_after"],
        "properties": {
            "detail": {"type": "string"},
            "retry_after": {"type": "integer", "minimum": 0, "description": "seconds"},
        },
    },
    "FieldError": {
        "type": "object",
        "required": ["loc", "msg", "type"],
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
    },
    "ValidationErrorBody": {
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}
        },
    },
}
_BODY_SCHEMA = {429: "RateLimitError", 422: "ValidationErrorBody"}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "required": True}},
}


# Bearer authentication, described here rather than by a FastAPI security dependency:
# such a dependency would be solved on every request only to be ignored (the header is
# parsed by `torale.auth.authenticate`, for the contract's exact messages).
BEARER_SCHEME_NAME = "HTTPBearer"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key (sk_...) or an OIDC JWT",
}
_BEARER_DEPENDENCIES: set[Callable[..., Any]] = set()
_F = TypeVar("_F", bound=Callable[..., Any])


def documents_bearer(dependency: _F) -> _F:
    """Marks a dependency that authenticates with the bearer token: every route using
    it is documented as secured by `BEARER_SCHEME`."""
    _BEARER_DEPENDENCIES.add(dependency)
    return dependency


def _calls(dependant: Dependant) -> Iterator[Any]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _bearer_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of every documented operation that authenticates with a bearer."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and any(
            call in _BEARER_DEPENDENCIES for call in _calls(route.dependant)
        ):
            found.update((route.path_format, method.lower()) for method in route.methods or ())
    return found


def _document_bearer(app: FastAPI, document: dict[str, Any]) -> None:
    secured = _bearer_operations(app)
    for path, path_item in document["paths"].items():
        for method, route_doc in path_item.items():
            if (path, method) in secured:
                route_doc["security"] = [{BEARER_SCHEME_NAME: []}]
    if secured:
        schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[BEARER_SCHEME_NAME] = dict(BEARER_SCHEME)


def runs(operation: str, refusals: dict[int, str] | None = None) -> dict[str, Any]:
    """Route keyword arguments saying which operation's data the route answers with, and
    the refusals it can make beyond those of every route (401, 422, 429, 503 ...)."""
    extra: dict[str, Any] = {OPERATION_KEY: operation}
    if refusals:
        extra[_REFUSALS_KEY] = {str(code): text for code, text in refusals.items()}
    return {"openapi_extra": extra}


_REFUSALS_KEY = "x-torale-refusals"


def _error_response(status: int, description: str) -> dict[str, Any]:
    name = _BODY_SCHEMA.get(status, "Error")
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def _document_refusals(route_doc: dict[str, Any]) -> None:
    refusals = dict(_EVERY_ROUTE)
    if route_doc.get("parameters") or route_doc.get("requestBody"):
        refusals.update(_WITH_INPUT)
    if route_doc.get("requestBody"):
        refusals.update(_WITH_BODY)
    refusals.update({int(k): v for k, v in route_doc.pop(_REFUSALS_KEY, {}).items()})
    responses = route_doc["responses"]
    for status, description in sorted(refusals.items()):
        responses[str(status)] = _error_response(status, description)


def install_openapi(app: FastAPI, operations: OperationRegistry) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _build(app, operations)
        return app.openapi_schema

    # FastAPI's documented way to supply the schema: replace the app's method.
    app.openapi = openapi  # type: ignore[method-assign]


def _build(app: FastAPI, operations: OperationRegistry) -> dict[str, Any]:
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    _document_bearer(app, document)
    schemas = ResponseSchemas(operations.schema)
    for path_item in document["paths"].values():
        for route_doc in path_item.values():
            name = route_doc.get(OPERATION_KEY)
            if name is None:
                continue
            _document_refusals(route_doc)
            success = min(code for code in route_doc["responses"] if code.startswith("2"))
            if success == "204":
                continue  # no body to describe
            declared = route_doc["responses"][success].get("content")
            if declared and "application/json" not in declared:
                continue  # a document that is not JSON (a feed): the route describes it
            route_doc["responses"][success]["content"] = {
                "application/json": {"schema": schemas.of(operations.document(name))}
            }
    components = document.setdefault("components", {}).setdefault("schemas", {})
    clashes = set(components) & set(schemas.components)
    if clashes:
        raise ValueError(f"response and request schemas share the names {sorted(clashes)}")
    components.update(schemas.components)
    components.update(ERROR_COMPONENTS)
    # FastAPI's own 422 schemas, replaced above by the contract's `ValidationErrorBody`.
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    return document
