"""Types every domain's schema shares: the list envelope and plain messages, and how a
GraphQL object is built from a database row."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any, Generic, TypeAlias, TypeVar, cast

import strawberry
from strawberry.types import Info as StrawberryInfo
from strawberry.types import get_object_definition
from strawberry.types.private import is_private

from torale.bounded import remember
from torale.graphql.context import ToraleContext
from torale.graphql.record_builders import record_builder

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


class _RowBuilder:
    """How objects of one GraphQL type are built from rows, worked out once."""

    __slots__ = ("complete_with", "fills_directly", "init_names", "names", "read", "type")

    def __init__(self, type_: type) -> None:
        self.type = type_
        definition = get_object_definition(type_, strict=True)
        self.names = tuple(
            f.python_name
            for f in definition.fields
            if f.base_resolver is None and not is_private(f.type)
        )
        # One C call reading every plain field (attrgetter gives a tuple for two or more).
        getter = attrgetter(*self.names) if self.names else None
        if getter is None or len(self.names) == 1:
            self.read = lambda row: tuple(getattr(row, name) for name in self.names)
        else:
            self.read = getter
        self.init_names = frozenset(f.name for f in dataclasses.fields(type_) if f.init)
        self.fills_directly = _init_only_assigns(type_)
        # Names given along with the row -> whether they and the row's make exactly
        # the arguments __init__ takes (else it is called, and says what is wrong).
        self.complete_with: dict[tuple[str, ...], bool] = {}

    def completes(self, given: tuple[str, ...]) -> bool:
        complete = self.complete_with.get(given)
        if complete is None:
            complete = self.complete_with[given] = {*self.names, *given} == self.init_names
        return complete

    def fill(self, row: object, given: Iterable[tuple[str, Any]]) -> Any:
        """The object with its attributes set, no __init__ call: only where
        `fills_directly` and `completes(...)` said the two give the same object."""
        built: Any = object.__new__(self.type)
        attributes = built.__dict__
        attributes.update(zip(self.names, self.read(row), strict=True))
        attributes.update(given)
        return built


def _init_only_assigns(type_: type) -> bool:
    """Whether `type_.__init__` is the one `dataclasses` wrote and does nothing but
    assign its arguments: then setting the instance's attributes is the same object,
    without a keyword call of some thirty arguments per row."""
    params = getattr(type_, "__dataclass_params__", None)
    init = type_.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    return (
        params is not None
        and params.init
        and not params.frozen
        # Generated from source text: a hand-written __init__ lives in a file.
        and code is not None
        and code.co_filename == "<string>"
        and not hasattr(type_, "__post_init__")
        and cast(Any, type_).__setattr__ is object.__setattr__
        and not hasattr(type_, "__slots__")
        # Fields __init__ does not take but still sets (defaults of init=False fields).
        and all(
            f.init
            or (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
            for f in dataclasses.fields(type_)
        )
        # Nothing between the attribute and the instance (a property, a descriptor).
        and not any(
            hasattr(getattr(type_, f.name, None), "__set__") for f in dataclasses.fields(type_)
        )
    )


_BUILDERS: dict[type, _RowBuilder] = {}


def _builder_for(type_: type) -> _RowBuilder:
    builder = _BUILDERS.get(type_)
    if builder is None:
        builder = _BUILDERS[type_] = _RowBuilder(type_)
    return builder


def row_builder(type_: type[T], *given: str) -> Callable[..., T]:
    """`from_row` for `type_` with the fields `given` passed by position, in that
    order: `row_builder(T, "a")(row, 1)` is `from_row(T, row, a=1)`. What `from_row`
    decides per call (whether the object can be filled directly) is decided here
    once, for building every row of a page."""
    builder = _builder_for(type_)
    if not (builder.fills_directly and builder.completes(given)):
        return lambda row, *values: from_row(type_, row, **dict(zip(given, values, strict=True)))
    fill = builder.fill

    def by_attributes(row: object, *values: Any) -> T:
        return cast(T, fill(row, zip(given, values, strict=True)))

    # Per class of row: how its rows are built (written out for a record class).
    builds: dict[type, Callable[..., T]] = {}

    def build(row: object, *values: Any) -> T:
        kind = type(row)
        build_row = builds.get(kind)
        if build_row is None:
            made = record_builder(type_, builder.names, given, kind) or by_attributes
            build_row = remember(builds, kind, made, _RECORD_CLASSES_KEPT)
        return build_row(row, *values)

    return build


# Record classes a row builder keeps its written-out builders for (one per list query).
_RECORD_CLASSES_KEPT = 16


def from_row(type_: type[T], row: object, /, **given: Any) -> T:
    """An object of the GraphQL type `type_`, each plain field (one without a resolver)
    read by name from `row`: an ORM row, a SQLAlchemy `Row`, any object with those
    attributes. `given` sets fields the row does not hold as they are: the type's
    `strawberry.Private` fields (what its resolvers need from the row without exposing
    it), and nested objects built by the caller."""
    builder = _builder_for(type_)
    if builder.fills_directly and builder.completes(tuple(given)):
        return cast(T, builder.fill(row, given.items()))
    values = dict(zip(builder.names, builder.read(row), strict=True))
    values.update(given)
    return type_(**values)


def page_of(
    build: Callable[[R], T], rows: Iterable[R], *, total: int, page: int, limit: int
) -> Page[T]:
    """A page of GraphQL objects, each built from one row."""
    return Page(items=[build(row) for row in rows], total=total, page=page, limit=limit)
