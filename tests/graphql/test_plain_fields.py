"""Fields read directly and lists of objects completed in one loop
(torale.graphql.plain_fields) give exactly what Strawberry's own execution context
gives: data, key order, errors and their order, paths, locations, and null
propagation, for every kind of field and list item the fast paths meet or pass on."""

from __future__ import annotations

import asyncio
import enum
import json
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, NewType

import pytest
import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    ExperimentalIncrementalExecutionResults,
    execute,
    experimental_execute_incrementally,
    parse,
)
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from torale.graphql import field_code, field_plans
from torale.graphql.plain_fields import WRITE_OUT_AFTER, PlainFieldExecutor
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


class Never(BasePermission):
    message = "not for you"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Child:
    id: int
    label: str | None


@strawberry.type
class Item:
    id: uuid.UUID
    last_seen_by: uuid.UUID | None
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
    # Permission classes are field extensions: Strawberry's resolver must run them.
    hidden: str | None = strawberry.field(permission_classes=[Never])

    @strawberry.field(permission_classes=[Never])
    def guarded(self) -> str | None:
        return self.name  # type: ignore[attr-defined,no-any-return]

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

    # Methods of the object alone are read directly, too.
    @strawberry.field
    def checked(self) -> str:
        return None if self.name == "method gives null" else self.name  # type: ignore[attr-defined,return-value]

    @strawberry.field
    def soon(self) -> int | None:
        # A plain method returning an awaitable: completed when it settles.
        if self.name == "holds an awaitable":  # type: ignore[attr-defined]
            return _awaitable_count()  # type: ignore[return-value]
        return None

    # Asking for `info` keeps Strawberry's resolver (and shows each item's path).
    @strawberry.field
    def where(self, info: strawberry.Info) -> str:
        return ".".join(str(key) for key in info.path.as_list())

    @strawberry.field
    async def later_strict(self) -> str:
        await asyncio.sleep(0)
        if self.name == "later fails":  # type: ignore[attr-defined]
            raise Boom("later, no")
        return self.name  # type: ignore[attr-defined,no-any-return]


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Cat(Named):
    pass


@strawberry.type
class Dog:
    name: str
    barks: bool


async def _later(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ITEMS  # type: ignore[return-value]

    @strawberry.field
    def strict_items(self) -> list[Item]:
        return ITEMS[:2]  # type: ignore[return-value]

    @strawberry.field
    def strict_with_null(self) -> list[Item] | None:
        return [ITEMS[0], None]  # type: ignore[list-item]

    @strawberry.field
    def strict_with_error(self) -> list[Item] | None:
        return [ITEMS[0], _row(name="null in a non-null field", count=None)]  # type: ignore[list-item]

    @strawberry.field
    def strict_later(self) -> list[Item] | None:
        return [ITEMS[0], _row(name="later fails")]  # type: ignore[list-item]

    @strawberry.field
    def strict_failing(self) -> list[Item]:
        return [ITEMS[0], _row(name="method gives null")]  # type: ignore[list-item]

    @strawberry.field
    async def awaited_items(self) -> list[Item | None]:
        return [_later(ITEMS[0]), ITEMS[1], _later(None), _later(_row(count=None))]  # type: ignore[list-item]

    # Lists long enough for the loop to be written out (field_code) part way through.
    @strawberry.field
    def many_items(self) -> list[Item | None]:
        # Long enough that every kind of item comes after the switch, too.
        return ITEMS * (WRITE_OUT_AFTER // 20 + 2)  # type: ignore[no-any-return]

    @strawberry.field
    def many_strict(self) -> list[Item] | None:
        return [*ITEMS[:2] * WRITE_OUT_AFTER, _row(name="method gives null")]  # type: ignore[list-item]

    @strawberry.field
    def nested(self) -> list[list[Item | None]]:
        return [[ITEMS[0], None], [ITEMS[1]]]  # type: ignore[list-item]

    @strawberry.field
    def pets(self) -> list[Cat | Dog]:
        return [Cat(name="c"), Dog(name="d", barks=True)]

    @strawberry.field
    def spoil(self, info: strawberry.Info, n: int) -> int:
        # What the request's variables held, then changed under it.
        seen = info.variable_values["n"]
        info.variable_values["n"] = -1
        return seen  # type: ignore[no-any-return]

    @strawberry.field
    def cats(self) -> list[Cat | None]:
        # Cat implements an interface, so it has is_type_of: a dog here is an error.
        return [Cat(name="c"), Dog(name="d", barks=True)]  # type: ignore[list-item]


def _row(**changes: Any) -> SimpleNamespace:
    row = {
        "id": uuid.UUID(int=1),
        "last_seen_by": uuid.UUID(int=9),
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


class _SlottedUUID(uuid.UUID):
    """A UUID subclass without attributes of its own (as asyncpg's): a plain value."""

    __slots__ = ()


class _OddText(str):
    """A str subclass whose value claims `__await__`: graphql-core asks it, and fails."""


class _UUIDWithAttributes(uuid.UUID):
    """A UUID subclass whose values can hold attributes: one claims `__await__`."""


def _odd_uuid() -> _UUIDWithAttributes:
    value = _UUIDWithAttributes(int=6)
    value.__dict__["__await__"] = lambda: iter(())
    return value


def _odd_text() -> _OddText:
    text = _OddText("odd")
    text.__await__ = lambda: iter(())  # type: ignore[attr-defined]
    return text


async def _awaitable_count() -> int:
    await asyncio.sleep(0)
    return 42


_CET = timezone(timedelta(hours=1))
_NOW = datetime.now(UTC)


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
        None,  # a null item of a nullable list
        _row(name="int out of range", maybe_count=2**31, count=-(2**30)),
        _row(name="bad enum again", maybe_color="blue"),  # a refusal is never remembered
        _row(name="unhashable enum", maybe_color=["green"]),
        _row(name="method gives null"),
        _row(name="later fails"),
        _row(name="ints at the bounds", maybe_count=-(2**31), count=2**30 - 1),
        _row(name="a whole float", maybe_count=2.0),
        _row(name="a slotted uuid", id=_SlottedUUID(int=5)),
        _row(name="text that claims to await", nickname=_odd_text()),
        _row(name="a uuid that claims to await", last_seen_by=_odd_uuid()),
        # The instant of the others' created_at, in another zone; a naive one.
        _row(name="another zone", created_at=datetime(2026, 1, 2, 4, 4, 5, tzinfo=_CET)),
        _row(name="naive", created_at=datetime(2026, 1, 2, 3, 4, 5), seen_at=_NOW),
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
    later_strict
    child { id label __typename }
  }
  strict_items { id count color later where }
  strict_with_null { id }
  strict_with_error { id count }
  strict_later { id later_strict }
  awaited_items { id count later where }
  nested { id where }
  pets { __typename ... on Cat { name } ... on Dog { name barks } }
  cats { name }
}
fragment Fields on Item {
  id name nickname count maybe_count color maybe_color config created_at seen_at
  flag score tags odd display_name shout checked soon where hidden guarded last_seen_by
}
"""


def _schema(executor: type | None) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        config=StrawberryConfig(auto_camel_case=False, scalar_map={Odd: ODD}),
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=executor,
    )


async def _run(
    executor: type,
    query: str | DocumentNode = QUERY,
    variables: dict[str, Any] | None = None,
    schema: strawberry.Schema | None = None,
) -> ExecutionResult:
    global ITEMS
    ITEMS = _items()
    schema = schema or _schema(executor)
    document = parse(query) if isinstance(query, str) else query
    result = execute(schema._schema, document, variable_values=variables, executor_class=executor)
    if asyncio.iscoroutine(result):
        result = await result
    assert isinstance(result, ExecutionResult)
    return result


def _shown(result: ExecutionResult) -> tuple[str, list[Any]]:
    errors = [
        (
            e.message,
            e.path or [],
            [(loc.line, loc.column) for loc in e.locations or ()],
            type(e.original_error).__name__,
        )
        for e in result.errors or []
    ]
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
    assert items[0]["shout"] == "ONE" and items[0]["checked"] == "one"
    assert items[0]["where"] == "items.0.where"
    assert items[1]["nickname"] == "deux" and items[1]["alias_name"] == "two"
    assert items[2] is None and items[5] is None and items[7] is None
    assert items[9]["maybe_count"] == 42 and items[9]["soon"] == 42
    assert (items[11]["nickname"], items[11]["flag"], items[11]["maybe_count"]) == ("5", True, 1)
    assert items[12]["odd"] is None
    assert items[13] is None and items[17] is None and items[18] is None
    assert items[14]["maybe_count"] is None and items[14]["times"] == -(2**31)
    assert items[19]["maybe_count"] == -(2**31) and items[20]["maybe_count"] == 2
    assert items[21]["id"] == str(uuid.UUID(int=5)) and items[22]["nickname"] is None
    assert items[0]["last_seen_by"] == str(uuid.UUID(int=9)) and items[23]["last_seen_by"] is None
    assert items[15]["maybe_color"] is None and items[16]["maybe_color"] is None
    assert data["strict_items"][1]["where"] == "strict_items.1.where"
    assert data["strict_with_null"] is None and data["strict_with_error"] is None
    assert data["strict_later"] is None
    awaited = data["awaited_items"]
    assert awaited[0]["where"] == "awaited_items.0.where" and awaited[2:] == [None, None]
    assert data["nested"][0][0]["where"] == "nested.0.0.where" and data["nested"][0][1] is None
    assert data["pets"] == [
        {"__typename": "Cat", "name": "c"},
        {"__typename": "Dog", "name": "d", "barks": True},
    ]
    messages_list = [e[0] for e in _shown(got)[1]]
    messages = set(messages_list)
    assert "Cannot return null for non-nullable field Item.count." in messages
    assert "Cannot return null for non-nullable field Item.checked." in messages
    assert "Cannot return null for non-nullable field Query.strict_with_null." in messages
    assert "Enum 'Color' cannot represent value: 'blue'" in messages
    assert "Enum 'Color' cannot represent value: ['green']" in messages
    assert "Int cannot represent non 32-bit signed integer value: 2147483648" in messages
    assert sum(m == "Enum 'Color' cannot represent value: 'blue'" for m in messages_list) == 2
    assert "cannot read nickname" in messages and "stored" in messages
    assert "no one" in messages and "later, no" in messages
    assert data["cats"][1] is None and items[0]["guarded"] is None
    assert "not for you" in messages
    assert any(m.startswith("Expected value of type 'Cat' but got") for m in messages)
    assert any(m.startswith("Expected `Odd.coerce_output_value(13)`") for m in messages)


@pytest.mark.parametrize(
    "query",
    [
        # A non-null list whose item fails: null goes up to the data.
        "{ strict_failing { id checked } }",
        "{ strict_items { id } strict_failing { later_strict checked } }",
        # Lists of lists, of awaited items, of a union: graphql-core's paths.
        "{ nested { id checked } awaited_items { name checked } }",
        "{ pets { ... on Dog { barks } } }",
        # A directive on the list field itself: graphql-core decides about streaming.
        "{ strict_items @include(if: true) { id } items @skip(if: false) { name } }",
        # The same field twice, merged; aliases; __typename among read fields.
        "{ a: items { id n: name name name __typename } b: strict_items { shout id } }",
    ],
)
async def test_small_queries_give_what_strawberrys_execution_gives(query: str) -> None:
    expected = await _run(StrawberryGraphQLCoreExecutionContext, query)
    got = await _run(PlainFieldExecutor, query)
    assert _shown(got) == _shown(expected)


WIDE_ITEM = """
    __typename ...Fields alias_name: name name times(n: 2) later fails later_strict
    child { id label __typename }
"""


@pytest.mark.parametrize(
    "query",
    [
        # Every kind of item and field of the wide query, in the loop and then in
        # the loop written out (each item appears on both sides of the switch).
        "{ many_items { " + WIDE_ITEM + " } } " + QUERY[QUERY.index("fragment") :],
        # A non-null field's error in the written-out code nulls its list.
        "{ many_strict { id count checked later_strict } strict_items { id } }",
        # Only planned fields, only graphql-core's fields, aliases among them.
        "{ many_items { id n: name shout created_at color maybe_color config } }",
        "{ many_items { where later child { id } } }",
    ],
)
async def test_a_selection_written_out_gives_what_strawberrys_execution_gives(
    query: str,
) -> None:
    field_code._SHAPES.clear()
    expected = await _run(StrawberryGraphQLCoreExecutionContext, query)
    got = await _run(PlainFieldExecutor, query)
    assert _shown(got) == _shown(expected)
    assert field_code._SHAPES  # the selection's loop was written out


def test_a_selection_too_long_keeps_the_loop() -> None:
    fields = " ".join(f"f{i}: name" for i in range(field_code.MAX_STEPS + 1))
    document = parse("{ many_items { " + fields + " } }")
    schema = _schema(PlainFieldExecutor)
    field_code._SHAPES.clear()
    global ITEMS
    ITEMS = [_row()]
    result = execute(schema._schema, document, executor_class=PlainFieldExecutor)
    assert isinstance(result, ExecutionResult) and not result.errors
    assert result.data is not None and result.data["many_items"][-1]["f0"] == "one"
    assert not field_code._SHAPES


def test_response_keys_never_become_code() -> None:
    """An alias is the client's text: it is a value the written-out code stores under,
    not part of the code (the shape holds attribute names and flags only)."""
    schema = _schema(PlainFieldExecutor)
    field_code._SHAPES.clear()
    document = parse("{ many_items { x__import__: name id } }")
    global ITEMS
    ITEMS = [_row()] * 24
    result = execute(schema._schema, document, executor_class=PlainFieldExecutor)
    assert isinstance(result, ExecutionResult) and not result.errors
    [shape] = field_code._SHAPES
    assert shape == (
        ("read", "name", True, False, False, None),
        ("read", "id", False, False, False, None),
    )


async def _incrementally(executor: type, query: str) -> list[Any]:
    """Every payload of an incremental execution (`@defer`, `@stream`)."""
    global ITEMS
    ITEMS = _items()
    config = StrawberryConfig(
        auto_camel_case=False,
        scalar_map={Odd: ODD},
        enable_experimental_incremental_execution=True,
    )
    schema = strawberry.Schema(
        query=Query,
        config=config,
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=executor,
    )
    result = experimental_execute_incrementally(
        schema._schema, parse(query), executor_class=executor
    )
    if asyncio.iscoroutine(result):
        result = await result
    if isinstance(result, ExecutionResult):
        return [result.formatted]
    assert isinstance(result, ExperimentalIncrementalExecutionResults)
    payloads: list[Any] = [result.initial_result.formatted]
    async for payload in result.subsequent_results:
        payloads.append(payload.formatted)
    return payloads


@pytest.mark.parametrize(
    "query",
    [
        "{ strict_items @stream(initialCount: 1) { id name } }",
        "{ items @stream(initialCount: 2) { id count checked } }",
        "{ strict_items { id ... @defer { name shout later } } }",
    ],
)
async def test_deferred_and_streamed_parts_arrive_as_with_strawberrys_execution(
    query: str,
) -> None:
    expected = await _incrementally(StrawberryGraphQLCoreExecutionContext, query)
    got = await _incrementally(PlainFieldExecutor, query)
    assert len(got) > 1  # delivered in parts
    assert json.dumps(got) == json.dumps(expected)


def _calls(name: str, path_end: str, run: Callable[[], Any]) -> int:
    """How often a function of that name, defined in a file ending so, was called."""
    count = 0

    def hook(frame: Any, event: str, _arg: Any) -> None:
        nonlocal count
        code = frame.f_code
        if event == "call" and code.co_name == name and code.co_filename.endswith(path_end):
            count += 1

    sys.setprofile(hook)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count


def _run_sync(executor: type, document: DocumentNode, schema: strawberry.Schema) -> None:
    global ITEMS
    ITEMS = _items()
    result = execute(schema._schema, document, executor_class=executor)
    assert isinstance(result, ExecutionResult) and not result.errors


def test_list_items_skip_graphql_cores_completion_chain():
    """Each object of a list goes straight to its fields, not through
    complete_value and complete_object_value."""
    document = parse("{ strict_items { id name shout } }")
    completions = "complete_object_value", "graphql/execution/executor.py"

    def run(executor: type) -> Callable[[], None]:
        return lambda: _run_sync(executor, document, _schema(executor))

    assert _calls(*completions, run(StrawberryGraphQLCoreExecutionContext)) == 2
    assert _calls(*completions, run(PlainFieldExecutor)) == 0


def test_a_selection_is_collected_once_for_every_request():
    schema = _schema(PlainFieldExecutor)
    document = parse("{ strict_items { ...F child { id } } } fragment F on Item { id name }")
    collect = "collect_subfields", "graphql/execution/collect_fields.py"

    def run() -> None:
        _run_sync(PlainFieldExecutor, document, schema)

    assert _calls(*collect, run) == 2  # the items, then their child
    assert _calls(*collect, run) == 0


async def test_a_selection_with_directives_is_collected_per_request():
    """`@skip(if: $var)` makes the selection depend on the variables: never shared."""
    document = parse(
        "query($skip: Boolean!) { strict_items { id ...F } }"
        " fragment F on Item { name @skip(if: $skip) shout }"
    )
    schema = _schema(PlainFieldExecutor)
    for skip in (True, False, True):
        expected = await _run(StrawberryGraphQLCoreExecutionContext, document, {"skip": skip})
        got = await _run(PlainFieldExecutor, document, {"skip": skip}, schema)
        assert _shown(got) == _shown(expected)
        assert ("name" in got.data["strict_items"][0]) is not skip  # type: ignore[index]


async def test_shared_nodes_with_other_fragments_are_collected_again():
    """The same operation node in another document, whose fragment of the same name
    selects other fields, is not answered from the first document's collection."""
    first = parse("{ strict_items { ...F } } fragment F on Item { id }")
    [other_fragment] = parse("fragment F on Item { name }").definitions
    second = DocumentNode(definitions=(first.definitions[0], other_fragment))
    schema = _schema(PlainFieldExecutor)
    got = await _run(PlainFieldExecutor, first, schema=schema)
    assert got.data == {
        "strict_items": [{"id": str(uuid.UUID(int=1))}, {"id": str(uuid.UUID(int=2))}]
    }
    got = await _run(PlainFieldExecutor, second, schema=schema)
    assert got.data == {"strict_items": [{"name": "one"}, {"name": "two"}]}


def _strawberry_reads(executor: type, query: str) -> list[str]:
    """Names of the fields Strawberry's wrapper resolved (seen by a profile hook,
    nothing replaced)."""
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


def test_planned_fields_skip_strawberrys_wrapper():
    """The point of the executor: attributes and plain methods are never resolved
    through Strawberry; a resolver taking `info` still is."""
    query = "{ strict_items { id name count color shout where } }"
    assert set(_strawberry_reads(PlainFieldExecutor, query)) == {"strict_items", "where"}
    reference = _strawberry_reads(StrawberryGraphQLCoreExecutionContext, query)
    assert {"id", "name", "count", "color", "shout", "where"} <= set(reference)


async def test_how_a_field_is_read_is_decided_once_per_type():
    await _run(PlainFieldExecutor, "{ strict_items { id name shout times(n: 1) } }")
    item_type = _schema(PlainFieldExecutor)._schema.type_map["Item"]
    # Another schema object: reads are kept per GraphQL type, never shared between them.
    assert item_type not in field_plans._READS
    schema = _schema(PlainFieldExecutor)
    await _run(
        PlainFieldExecutor,
        "{ strict_items { id shout checked times(n: 1) where later child { id } } }",
        schema=schema,
    )
    reads = field_plans._READS[schema._schema.type_map["Item"]]
    assert reads["id"] is not None and reads["shout"] is not None  # read directly
    assert reads["checked"] is not None
    # An argument (not even looked up), `info`, async, an object: graphql-core's path.
    assert "times" not in reads and reads["where"] is None
    assert reads["later"] is None and reads["child"] is None


def test_exception_handlers_keep_strawberrys_resolvers():
    """A schema with exception handlers reads nothing directly: they must see errors."""
    from strawberry.schema.exception_handlers import ExceptionHandler

    class Handler(ExceptionHandler[Boom]):
        error_type = Cat

        def handle(self, error: Boom, **_: Any) -> Any:
            return Cat(name=str(error))

    schema = strawberry.Schema(
        query=Query,
        config=StrawberryConfig(auto_camel_case=False, scalar_map={Odd: ODD}),
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=PlainFieldExecutor,
        exception_handlers=[Handler()],
    )
    item_type = schema._schema.type_map["Item"]
    assert field_plans.read_of(schema._schema, item_type, "shout") is None
    assert field_plans.read_of(schema._schema, item_type, "id") is None


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
        parse("{ strict_items { id name shout } }"),
        executor_class=PlainFieldExecutor,
        middleware=[middleware],
    )
    assert not result.errors  # type: ignore[union-attr]
    assert seen.count("name") == 2 and seen.count("shout") == 2


async def test_the_torale_schema_runs_the_plain_field_executor():
    from torale.graphql.schema import schema

    assert schema.execution_context_class is PlainFieldExecutor
    assert schema.pipeline.execution_context_class is PlainFieldExecutor


def test_every_field_of_the_task_list_is_read_directly():
    """What the REST task list selects costs no resolver per task (a resolver taking
    `info` would bring Strawberry's wrapper back for each of them)."""
    from torale.graphql.executor import OperationRegistry
    from torale.graphql.schema import schema

    registry = OperationRegistry(schema)
    [*_, fragment] = registry.document("Tasks").definitions
    task_type = schema._schema.type_map["Task"]
    names = [selection.name.value for selection in fragment.selection_set.selections]  # type: ignore[attr-defined]
    assert len(names) == 28
    assert [n for n in names if field_plans.read_of(schema._schema, task_type, n) is None] == []


def test_an_execution_leaves_nothing_for_the_cyclic_garbage_collector():
    """The executor drops its self-referencing helpers once the response is built:
    reference counting frees it, its field details and plans."""
    import gc

    schema = _schema(PlainFieldExecutor)
    document = parse("{ strict_items { id name count color created_at child { id } } }")
    _run_sync(PlainFieldExecutor, document, schema)  # plans made and shared
    gc.collect()
    gc.disable()
    try:
        gc.set_debug(gc.DEBUG_SAVEALL)
        _run_sync(PlainFieldExecutor, document, schema)
        global ITEMS
        ITEMS = _items()
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert "PlainFieldExecutor" not in left, left


def test_a_lists_items_are_planned_once_per_list():
    """Whether a list's items take the direct path is decided on its first item."""
    schema = _schema(PlainFieldExecutor)
    document = parse("{ strict_items { id name } }")
    _run_sync(PlainFieldExecutor, document, schema)
    planned = "_planned_item", "torale/graphql/plain_fields.py"
    assert _calls(*planned, lambda: _run_sync(PlainFieldExecutor, document, schema)) == 1


def _sync(
    executor: type, schema: strawberry.Schema, document: DocumentNode, **variables: Any
) -> Any:
    global ITEMS
    ITEMS = _items()
    result = execute(schema._schema, document, variable_values=variables, executor_class=executor)
    assert isinstance(result, ExecutionResult)
    return _shown(result)


def test_a_request_like_an_earlier_one_starts_from_its_coerced_variables() -> None:
    schema = _schema(PlainFieldExecutor)
    reference = _schema(StrawberryGraphQLCoreExecutionContext)
    document = parse("query($n: Int!, $c: Color) { strict_items { times(n: $n) } a: spoil(n: $n) }")
    coerce = "get_variable_values", "graphql/execution/values.py"

    def run(**variables: Any) -> Callable[[], None]:
        def once() -> None:
            got = _sync(PlainFieldExecutor, schema, document, **variables)
            assert got == _sync(
                StrawberryGraphQLCoreExecutionContext, reference, document, **variables
            )

        return once

    assert _calls(*coerce, run(n=2, c="RED")) == 2  # the reference's and the first's
    # Again: the reference coerces, the executor starts from the first request's.
    # `spoil` changed its request's variables: the next one sees its own again.
    assert _calls(*coerce, run(n=2, c="RED")) == 1
    assert _calls(*coerce, run(n=3, c="RED")) == 2  # other values: coerced
    # Equal but not the same: True is refused for an Int, never taken for 1.
    assert _calls(*coerce, run(n=True, c="RED")) == 2
    assert _sync(PlainFieldExecutor, schema, document, n=True)[1][0][0].startswith(
        "Variable '$n' has invalid value: Int cannot represent non-integer value: True"
    )
    assert _calls(*coerce, run(n=True, c="RED")) == 2  # an error is never kept
    assert _calls(*coerce, run(n=2, c="BLUE")) == 2
    assert _calls(*coerce, run(n=2, c="BLUE")) == 2


def test_variables_that_are_not_plain_values_are_coerced_each_time() -> None:
    schema = _schema(PlainFieldExecutor)
    document = parse("query($n: Int!, $tags: [String]) { a: spoil(n: $n) }")
    coerce = "get_variable_values", "graphql/execution/values.py"
    for _ in range(2):
        run = lambda: _sync(PlainFieldExecutor, schema, document, n=1, tags=["x"])  # noqa: E731
        assert _calls(*coerce, run) == 1


def test_an_enum_remembers_names_only_for_texts_it_accepted() -> None:
    """What the written-out loop looks up for an enum's text instead of calling its
    coercion: only names the coercion gave for exactly that `str`."""
    schema = _schema(PlainFieldExecutor)
    read = field_plans.read_of(schema._schema, schema._schema.type_map["Item"], "maybe_color")
    assert read is not None and read.known == {}
    with pytest.raises(Exception, match="blue"):
        read.coerce("blue")
    assert read.coerce(Color.RED) == "RED" and read.known == {}
    assert read.coerce("green") == "GREEN" and read.known == {"green": "GREEN"}
