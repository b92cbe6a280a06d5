"""The loop of `PlainFieldExecutor.execute_fields` written out for one planned selection.

A list page completes the same selection for every object: 20 tasks of 28 fields are
560 turns of one loop, each unpacking its step, calling the read through a function
object and testing what the step holds. For a selection served again and again, this
module writes that loop out as straight-line code: one block per field, with its
decisions taken when the code is written (whether the field is read as an attribute,
has a type whose values pass unchanged, is non-null) and its objects (response key,
read, coercion, field details) bound in the closure.

Each field's block is the loop's body for that field: the same reads in the same
order, the same tests in the same order, the same calls to graphql-core's
`execute_field`, `complete_leaf_value` and `handle_field_error` with the same
arguments. The common cases (a value of a plain type, a nullable field's null) are
written out; anything else (a null in a non-null field, an awaitable, an exception,
a value of another type) is handed to `unusual_value`, the code the loop runs for it,
and an error to `field_error`, the loop's handler. Only the work of going round the
loop is gone (and the code stays short: it is compiled in a few milliseconds).

The code depends on the *shape* of the selection only (which kinds of step, which
attribute names): it is compiled once per shape, and each selection of that shape
gets its own closure over its own objects. Response keys and everything else a
document chooses are closure values, never source text; attribute names are Python
identifiers of the schema's own types, written into the code only when they are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeAlias

from graphql import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT, GraphQLInt, Undefined
from graphql.pyutils import Path

from torale.bounded import remember
from torale.graphql.selection_plans import Step
from torale.graphql.source_names import reads_as_itself

# (executor, parent type, source, path, position context) -> the object's results, or
# an awaitable of them (as graphql-core's `execute_fields` returns).
FieldsRun: TypeAlias = Callable[[Any, Any, Any, Any, Any], Any]

# Selections longer than this keep the loop (the code, and the time to compile it,
# grow with the selection: about 0.3 ms a field).
MAX_STEPS = 64
# Distinct shapes kept compiled; one per selection of a list served often.
_SHAPES_KEPT = 256
_SHAPES: dict[tuple[Any, ...], Callable[..., FieldsRun]] = {}


def fields_run(
    steps: tuple[Step, ...],
    type_name: str,
    plain_types: Any,
    gathered: Callable[[dict[str, Any], list[str]], Any],
) -> FieldsRun | None:
    """The written-out loop over `steps` (of an object type named `type_name`), or None
    when the selection is too long to write out.

    `plain_types` is the executor's table of value types that are never awaitable, an
    exception or null; `gathered` awaits the fields that gave awaitables."""
    if len(steps) > MAX_STEPS:
        return None
    shape = tuple(_step_shape(step) for step in steps)
    make = _SHAPES.get(shape)
    if make is None:
        make = remember(_SHAPES, shape, _compile(shape), _SHAPES_KEPT)
    values: list[Any] = [type_name, plain_types, gathered]
    for step in steps:
        key, details, plan, read, same, coerce = step
        values += [key, details] if plan is None else [key, step, read, same, coerce, plan.known]
    return make(tuple(values))


def _step_shape(step: Step) -> tuple[Any, ...]:
    _key, _details, plan, _read, same, _coerce = step
    if plan is None:
        return ("field",)
    attribute = plan.attribute
    if attribute is not None and not reads_as_itself(attribute):
        attribute = None  # read through the plan's function instead
    # What the coercion's remembered answers are keyed by: an enum's texts, or
    # timestamps in UTC (`torale.graphql.scalars`).
    known = None if plan.known is None else "utc" if plan.known_kind is datetime else "text"
    return ("read", attribute, same is not None, not plan.non_null, plan.leaf is GraphQLInt, known)


def _compile(shape: tuple[tuple[Any, ...], ...]) -> Callable[..., FieldsRun]:
    names = ["type_name", "plain", "gathered"]
    body: list[str] = []
    for index, kind in enumerate(shape):
        if kind[0] == "field":
            names += [f"key_{index}", f"details_{index}"]
            body += _field_block(index)
        else:
            names += [f"key_{index}", f"step_{index}", f"read_{index}", f"same_{index}"]
            names += [f"coerce_{index}", f"known_{index}"]
            _, attribute, has_same, nullable, is_int, known = kind
            body += _read_block(index, attribute, has_same, nullable, is_int, known)
    source = "\n".join(
        [
            "def make(values):",
            f"    ({', '.join(names)},) = values",
            "    def run(self, parent_type, source, path, position_context):",
            "        results = {}",
            "        awaitable_fields = None",
            "        try:",
            *(f"            {line}" for line in body),
            "        except Exception:",
            "            if awaitable_fields:",
            "                # As graphql-core does: settle what other fields started.",
            "                self.settle_in_background(",
            "                    [results[field] for field in awaitable_fields]",
            "                )",
            "            raise",
            "        if not awaitable_fields:",
            "            return results",
            "        return gathered(results, awaitable_fields)",
            "    return run",
        ]
    )
    namespace: dict[str, Any] = {
        "datetime": datetime,
        "UTC": UTC,
        "Undefined": Undefined,
        "Path": Path,
        "unusual": unusual_value,
        "field_error": field_error,
    }
    exec(compile(source, "<torale.graphql.field_code>", "exec"), namespace)
    make: Callable[..., FieldsRun] = namespace["make"]
    return make


def _field_block(i: int) -> list[str]:
    """A field graphql-core executes (`execute_field`), as the loop runs it."""
    return [
        f"result = self.execute_field(parent_type, source, details_{i},",
        f"    Path(path, key_{i}, type_name), position_context)",
        "if result is not Undefined:",
        f"    results[key_{i}] = result",
        "    if self.is_awaitable(result):",
        "        if awaitable_fields is None:",
        "            awaitable_fields = []",
        f"        awaitable_fields.append(key_{i})",
    ]


def _read_block(
    i: int, attribute: str | None, has_same: bool, nullable: bool, is_int: bool, known: str | None
) -> list[str]:
    """A planned field, as the loop reads and completes it: a value of the type that
    passes unchanged, then a plain value coerced, then (a nullable field's) null, then
    anything else (`unusual_value`)."""
    read = f"source.{attribute}" if attribute is not None else f"read_{i}(source)"
    test = f"if kind is same_{i}:" if has_same else "if False:"
    # An Int's coercion gives a 32-bit int back as it is (field_plans' `coerce_int`).
    shortcuts = (
        [
            f"    elif kind is int and {GRAPHQL_MIN_INT} <= value <= {GRAPHQL_MAX_INT}:",
            f"        results[key_{i}] = value",
        ]
        if is_int
        else []
    )
    # An enum's name for a text it has coerced before (field_plans' `_remembered`), a
    # UTC timestamp's text formatted before (`serialize_datetime`'s own lookup).
    if known == "text":
        shortcuts += [
            f"    elif kind is str and value in known_{i}:",
            f"        results[key_{i}] = known_{i}[value]",
        ]
    elif known == "utc":
        shortcuts += [
            f"    elif kind is datetime and value.tzinfo is UTC and value in known_{i}:",
            f"        results[key_{i}] = known_{i}[value]",
        ]
    null = ["    elif value is None:", f"        results[key_{i}] = None"] if nullable else []
    return [
        "try:",
        f"    value = {read}",
        "    kind = type(value)",
        f"    {test}",
        f"        results[key_{i}] = value",
        *shortcuts,
        "    elif plain[kind]:",
        f"        coerced = coerce_{i}(value)",
        "        if coerced is None or coerced is Undefined:",
        "            # graphql-core's error for it (complete_leaf_value raises).",
        f"            coerced = self.complete_leaf_value(step_{i}[2].leaf, value)",
        f"        results[key_{i}] = coerced",
        *null,
        "    else:",
        f"        awaitable_fields = unusual(self, step_{i}, value, results,",
        "            awaitable_fields, parent_type, path, type_name, position_context)",
        "except Exception as raw_error:",
        f"    field_error(self, step_{i}, raw_error, results, path, type_name)",
    ]


def unusual_value(
    executor: Any,
    step: Step,
    value: Any,
    results: dict[str, Any],
    awaitable_fields: list[str] | None,
    parent_type: Any,
    path: Any,
    type_name: str,
    position_context: Any,
) -> list[str] | None:
    """What the loop (and the code written out from it) does with a read value of no
    plain type: null, an awaitable, an exception, or anything else (coerced). Raises
    what graphql-core would raise there; gives back the fields that hold awaitables."""
    key, details, plan, _read, _same, coerce = step
    assert plan is not None
    if value is None or value is Undefined:
        if plan.non_null:
            raise TypeError(plan.null_message)
        results[key] = None
        return awaitable_fields
    if executor.is_awaitable(value):
        results[key] = executor._complete_later(
            plan, parent_type, Path(path, key, type_name), details, value, position_context
        )
        if awaitable_fields is None:
            awaitable_fields = []
        awaitable_fields.append(key)
        return awaitable_fields
    if isinstance(value, Exception):
        raise value
    coerced = coerce(value)
    if coerced is None or coerced is Undefined:
        coerced = executor.complete_leaf_value(plan.leaf, value)
    results[key] = coerced
    return awaitable_fields


def field_error(
    executor: Any,
    step: Step,
    raw_error: Exception,
    results: dict[str, Any],
    path: Any,
    type_name: str,
) -> None:
    """An error in a planned field, as graphql-core handles it: raised again for a
    non-null field (its parent becomes null), else the field is null."""
    key, details, plan, *_ = step
    assert plan is not None
    executor.handle_field_error(raw_error, plan.type, details, Path(path, key, type_name))
    results[key] = None
