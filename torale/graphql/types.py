"""Types every domain's schema shares: the list envelope and plain messages, and how a
GraphQL object is built from a database row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeAlias, TypeVar

import strawberry
from strawberry.types import Info as StrawberryInfo
from strawberry.types import get_object_definition
from strawberry.types.private import is_private

from torale.graphql.context import ToraleContext

Info: TypeAlias = StrawberryInfo[ToraleContext, None]

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type(description="One page of a list, newest first unless stated")
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    limit: int


@strawberry.type
class Message:
    message: str


# Per GraphQL type, the names of its plain fields, read once.
_ROW_FIELDS: dict[type, tuple[str, ...]] = {}


def _row_fields(type_: type) -> tuple[str, ...]:
    names = _ROW_FIELDS.get(type_)
    if names is None:
        definition = get_object_definition(type_, strict=True)
        names = tuple(
            f.python_name
            for f in definition.fields
            if f.base_resolver is None and not is_private(f.type)
        )
        _ROW_FIELDS[type_] = names
    return names


def from_row(type_: type[T], row: object, /, **given: Any) -> T:
    """An object of the GraphQL type `type_`, each plain field (one without a resolver)
    read by name from `row`: an ORM row, a SQLAlchemy `Row`, any object with those
    attributes. `given` sets fields the row does not hold as they are: the type's
    `strawberry.Private` fields (what its resolvers need from the row without exposing
    it), and nested objects built by the caller."""
    values = {name: getattr(row, name) for name in _row_fields(type_)}
    values.update(given)
    return type_(**values)


def page_of(
    build: Callable[[R], T], rows: Iterable[R], *, total: int, page: int, limit: int
) -> Page[T]:
    """A page of GraphQL objects, each built from one row."""
    return Page(items=[build(row) for row in rows], total=total, page=page, limit=limit)
