"""Plain fields read directly (torale.graphql.plain_fields) give exactly what
Strawberry's own execution context gives: data, key order, errors, paths, locations,
and null propagation, for every kind of field a plain read meets or passes on."""

from __future__ import annotations

import asyncio
import enum
import json
import sys
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, NewType

import strawberry
from graphql import ExecutionResult, execute, parse
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from torale.graphql import plain_fields
from torale.graphql.plain_fields import PlainFieldExecutor
from torale.graphql.scalars import SCALAR_OVERRIDES


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


ColorEnum = strawberry.enum(Color, name="Color")


Odd = NewType("Odd", int)
ODD = strawberry.scalar(
    name="Odd",
    # A scalar that gives None for a value: graphql-core reports it as an error.
    serialize=lambda value: None if value == 13 else value,
    parse_value=int,
)


class Boom(Exception):
    pass


@strawberry.type
class Child:
    id: int
    label: str | None


@strawberry.type
class Item:
    id: uuid.UUID
    name: str
    nickname: str | None
    count: int
    maybe_count: int | None
    color: ColorEnum
    maybe_color: ColorEnum | None
    config: JSON
    created_at: datetime
    seen_at: datetime | None
    flag: bool
    score: float | None
    tags: list[str] | None
    odd: Odd | None
    child: Child | None
    renamed: str = strawberry.field(name="display_name")

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()  # type: ignore[attr-defined]

    @strawberry.field
    def times(self, n: int) -> int:
        return self.count * n

    @strawberry.field
    async def later(self) -> str | None:
        await asyncio.sleep(0)
        return f"later {self.name}"

    @strawberry.field
    def fails(self) -> str | None:
        raise Boom(f"no {self.name}")


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ITEMS  # type: ignore[return-value]

    @strawberry.field
    def strict_items(self) -> list[Item]:
        return ITEMS[:2]  # type: ignore[return-value]


def _row(**changes: Any) -> SimpleNamespace:
    row = {
        "id": uuid.UUID(int=1),
        "name": "one",
        "nickname": None,
        "count": 3,
        "maybe_count": None,
        "color": Color.RED,
        "maybe_color": "green",  # a stored string, as a plain row holds it
        "config": {"a": [1, 2]},
        "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "seen_at": None,
        "flag": False,
        "score": 0.5,
        "tags": ["x", "y"],
        "odd": 1,
        "child": SimpleNamespace(id=7, label=None),
        "renamed": "shown as display_name",
    }
    row.update(changes)
    return SimpleNamespace(**row)


class _Awaiting:
    """A row whose `maybe_count` is an awaitable, made when read."""

    def __init__(self, row: SimpleNamespace) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        if name == "maybe_count":
            return _awaitable_count()
        return getattr(self._row, name)


class _Raising:
    """A row whose attributes raise, like an expired or detached ORM instance."""

    def __init__(self, row: SimpleNamespace, broken: str) -> None:
        self._row, self._broken = row, broken

    def __getattr__(self, name: str) -> Any:
        if name == self._broken:
            raise Boom(f"cannot read {name}")
        return getattr(self._row, name)


async def _awaitable_count() -> int:
    await asyncio.sleep(0)
    return 42


def _items() -> list[Any]:
    return [
        _row(),
        _row(id=uuid.UUID(int=2), name="two", nickname="deux", maybe_count=0, seen_at=None),
        _row(name="null in a non-null field", count=None),  # the item becomes null
        _row(name="bad enum", maybe_color="blue"),  # a field error, item kept
        _row(name="bad int", maybe_count="many"),
        _row(name="bad non-null enum", color="purple"),
        _Raising(_row(name="raises"), "nickname"),
        _Raising(_row(name="raises non-null"), "count"),
        _row(name="holds an exception", nickname=Boom("stored")),
        _Awaiting(_row(name="holds an awaitable")),
        _row(name="bad child", child=SimpleNamespace(id=None, label="x")),
        _row(name="coerced", nickname=5, flag=1, maybe_count=True, score=2),
        _row(name="serialized to null", odd=13),
    ]


ITEMS: list[Any] = []

QUERY = """
query Wide {
  items {
    __typename
    ...Fields
    alias_name: name
    name
    times(n: 2)
    later
    fails
    child { id label __typename }
  }
  strict_items { id count color later }
}
fragment Fields on Item {
  id name nickname count maybe_count color maybe_color config created_at seen_at
  flag score tags odd display_name shout
}
"""


def _schema(executor: type | None) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        config=StrawberryConfig(auto_camel_case=False, scalar_map={Odd: ODD}),
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=executor,
    )


async def _run(executor: type, query: str = QUERY) -> ExecutionResult:
    global ITEMS
    ITEMS = _items()
    schema = _schema(executor)
    result = execute(schema._schema, parse(query), executor_class=executor)
    if asyncio.iscoroutine(result):
        result = await result
    assert isinstance(result, ExecutionResult)
    return result


def _shown(result: ExecutionResult) -> tuple[str, list[Any]]:
    errors = sorted(
        (
            e.message,
            e.path or [],
            [(loc.line, loc.column) for loc in e.locations or ()],
            type(e.original_error).__name__,
        )
        for e in result.errors or []
    )
    # As JSON text, so that the order of the keys is compared too.
    return json.dumps(result.data), errors


async def test_a_wide_query_gives_what_strawberrys_execution_gives():
    expected = await _run(StrawberryGraphQLCoreExecutionContext)
    got = await _run(PlainFieldExecutor)
    assert _shown(got) == _shown(expected)
    # The fixture really meets every case it is meant to.
    data = json.loads(_shown(got)[0])
    items = data["items"]
    assert items[0]["color"] == "RED" and items[0]["maybe_color"] == "GREEN"
    assert items[0]["created_at"] == "2026-01-02T03:04:05Z"
    assert items[0]["display_name"] == "shown as display_name"
    assert items[1]["nickname"] == "deux" and items[1]["alias_name"] == "two"
    assert items[2] is None and items[5] is None and items[7] is None
    assert items[9]["maybe_count"] == 42
    assert (items[11]["nickname"], items[11]["flag"], items[11]["maybe_count"]) == ("5", True, 1)
    assert items[12]["odd"] is None
    messages = {e[0] for e in _shown(got)[1]}
    assert "Cannot return null for non-nullable field Item.count." in messages
    assert "Enum 'Color' cannot represent value: 'blue'" in messages
    assert "cannot read nickname" in messages and "stored" in messages
    assert any(m.startswith("Expected `Odd.coerce_output_value(13)`") for m in messages)


def _strawberry_basic_reads(executor: type, query: str) -> list[str]:
    """Names of the fields Strawberry's basic-field wrapper resolved (seen by a profile
    hook, nothing replaced)."""
    global ITEMS
    ITEMS = _items()
    schema = _schema(executor)
    document = parse(query)
    reads: list[str] = []

    def hook(frame: Any, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_code.co_name == "get_result":
            field = frame.f_locals.get("self")
            reads.append(getattr(field, "python_name", "?"))

    sys.setprofile(hook)
    try:
        result = execute(schema._schema, document, executor_class=executor)
    finally:
        sys.setprofile(None)
    assert isinstance(result, ExecutionResult) and not result.errors
    return reads


def test_plain_fields_skip_strawberrys_wrapper():
    """The point of the executor: a plain field is never resolved through Strawberry."""
    query = "{ strict_items { id name count color shout } }"
    assert set(_strawberry_basic_reads(PlainFieldExecutor, query)) == {"strict_items", "shout"}
    reference = _strawberry_basic_reads(StrawberryGraphQLCoreExecutionContext, query)
    assert {"id", "name", "count", "color", "shout"} <= set(reference)


async def test_which_fields_are_plain_is_decided_once_per_type():
    await _run(PlainFieldExecutor, "{ strict_items { id name shout times(n: 1) } }")
    item_type = _schema(PlainFieldExecutor)._schema.type_map["Item"]
    # Another schema object: plans are kept per GraphQL type, never shared between them.
    assert item_type not in plain_fields._PLANS
    schema = _schema(PlainFieldExecutor)
    global ITEMS
    ITEMS = _items()
    result = execute(
        schema._schema,
        parse("{ strict_items { id shout times(n: 1) } }"),
        executor_class=PlainFieldExecutor,
    )
    assert not result.errors  # type: ignore[union-attr]
    plans = plain_fields._PLANS[schema._schema.type_map["Item"]]
    assert plans["id"] is not None  # read directly
    assert plans["shout"] is None and plans["times"] is None  # resolvers: graphql-core's path


async def test_middleware_still_sees_every_field():
    seen: list[str] = []

    def middleware(next_, root, info, **args):  # type: ignore[no-untyped-def]
        seen.append(info.field_name)
        return next_(root, info, **args)

    global ITEMS
    ITEMS = _items()
    schema = _schema(PlainFieldExecutor)
    result = execute(
        schema._schema,
        parse("{ strict_items { id name } }"),
        executor_class=PlainFieldExecutor,
        middleware=[middleware],
    )
    assert not result.errors  # type: ignore[union-attr]
    assert seen.count("name") == 2


async def test_the_torale_schema_runs_the_plain_field_executor():
    from torale.graphql.schema import schema

    assert schema.execution_context_class is PlainFieldExecutor
    assert schema.pipeline.execution_context_class is PlainFieldExecutor
