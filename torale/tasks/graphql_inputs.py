"""The GraphQL task inputs, built from the one declaration of a task's fields
(`torale.tasks.inputs.TASK_FIELDS`): a field declared there is an input field here, with
the same name, requiredness and default.

GraphQL types follow the declared JSON type: closed sets are the domain's enums (made
GraphQL enums by `torale.graphql.enums`), objects and arrays are `JSON`.
"""

from __future__ import annotations

import typing
from typing import Any

import strawberry
from strawberry.scalars import JSON

import torale.graphql.enums  # noqa: F401  (registers the closed sets as GraphQL enums)
from torale.tasks.inputs import CREATE_FIELDS, REQUIRED, TASK_FIELDS, UPDATE_FIELDS, TaskField


def _graphql_type(spec: TaskField) -> Any:
    if spec.closed_set is not None:
        return spec.closed_set
    wire = spec.wire
    if typing.get_origin(wire) is typing.Annotated:
        wire = typing.get_args(wire)[0]  # a checked int is an Int
    if typing.get_origin(wire) in (dict, list):
        return JSON
    return wire


def _create_field(spec: TaskField) -> tuple[Any, Any]:
    """(annotation, default) of a field on the create input."""
    graphql_type = _graphql_type(spec)
    if spec.default is REQUIRED:
        return graphql_type, strawberry.UNSET
    if spec.nullable or graphql_type is JSON:
        # null means "the declared default", as it always has on this input.
        return graphql_type | None, None
    if spec.closed_set is not None:
        return graphql_type, spec.closed_set(spec.default)
    return graphql_type, spec.default


def _input(name: str, fields: tuple[str, ...], *, partial: bool, description: str | None) -> Any:
    annotations: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for field in fields:
        spec = TASK_FIELDS[field]
        if partial:
            annotation, default = _graphql_type(spec) | None, strawberry.UNSET
        else:
            annotation, default = _create_field(spec)
        annotations[field] = annotation
        if not (default is strawberry.UNSET and not partial):
            defaults[field] = default
    namespace = {"__annotations__": annotations, "__module__": __name__, **defaults}
    return strawberry.input(type(name, (), namespace), name=name, description=description)


CreateTaskInput = _input("CreateTaskInput", CREATE_FIELDS, partial=False, description=None)
UpdateTaskInput = _input(
    "UpdateTaskInput", UPDATE_FIELDS, partial=True, description="Only the fields given are changed"
)
