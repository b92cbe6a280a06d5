"""The OpenAPI document, with each REST response described by its GraphQL operation.

A route declares the operation it runs with `**runs("Task")`, once: its handler runs
it through the `Operation` dependency (`torale.http.deps`), and the document describes
its success response from that operation's selection set
(`torale.graphql.response_schema`) and names it in `x-graphql-operation`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from torale.graphql.executor import OperationRegistry
from torale.graphql.response_schema import ResponseSchemas

OPERATION_KEY = "x-graphql-operation"


# Routes whose change can take access away: refused while cached credentials cannot be
# invalidated (torale.auth.cache).
REVOKING_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"description": "Cached credentials could not be invalidated; nothing was changed"}
}


def runs(operation: str) -> dict[str, Any]:
    """Route keyword arguments saying which operation's data the route answers with."""
    return {"openapi_extra": {OPERATION_KEY: operation}}


def install_openapi(app: FastAPI, operations: OperationRegistry) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _build(app, operations)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _build(app: FastAPI, operations: OperationRegistry) -> dict[str, Any]:
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = ResponseSchemas(operations.schema)
    for path_item in document["paths"].values():
        for route_doc in path_item.values():
            name = route_doc.get(OPERATION_KEY)
            if name is None:
                continue
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
    return document
