"""The loop of `PlainFieldExecutor.execute_fields` written out for one planned selection.

A list page completes the same selection for every object: 20 tasks of 28 fields are
560 turns of one loop, each unpacking its step, calling the read through a function
object and testing what the step holds. For a selection served again and again, this
module writes that loop out as straight-line code: one block per field, with its
decisions taken when the code is written (whether the field is read as an attribute,
has a type whose values pass unchanged, is non-null) and its objects (response key,
read, coercion, field details) bound in the closure.

Each field's block is the loop's body for that field, statement for statement: the
same reads in the same order, the same tests in the same order, the same calls to
graphql-core's `execute_field`, `complete_leaf_value` and `handle_field_error` with
the same arguments. Only the work of going round the loop is gone.

The code depends on the *shape* of the selection only (which kinds of step, which
attribute names): it is compiled once per shape, and each selection of that shape
gets its own closure over its own objects. Response keys and everything else a
document chooses are closure values, never source text; attribute names are Python
identifiers of the schema's own types, written into the code only when they are.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any, TypeAlias

from graphql import Undefined
from graphql.pyutils import Path

from torale.graphql.selection_plans import Step

# (executor, parent type, source, path, position context) -> the object's results, or
# an awaitable of them (as graphql-core's `execute_fields` returns).
FieldsRun: TypeAlias = Callable[[Any, Any, Any, Any, Any], Any]

# Selections longer than this keep the loop (the code grows with the selection).
MAX_STEPS = 128
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
        if len(_SHAPES) >= _SHAPES_KEPT:
            _SHAPES.clear()
        make = _SHAPES[shape] = _compile(shape)
    values: list[Any] = [type_name, plain_types, gathered]
    for key, details, plan, read, same, coerce in steps:
        values += [key, details]
        if plan is not None:
            values += [plan, read, same, coerce, plan.leaf, plan.type, plan.null_message]
    return make(tuple(values))


def _step_shape(step: Step) -> tuple[Any, ...]:
    _key, _details, plan, _read, same, _coerce = step
    if plan is None:
        return ("field",)
    attribute = plan.attribute
    if attribute is not None and (not attribute.isidentifier() or keyword.iskeyword(attribute)):
        attribute = None
    return ("read", attribute, same is not None, plan.non_null)


def _compile(shape: tuple[tuple[Any, ...], ...]) -> Callable[..., FieldsRun]:
    names = ["type_name", "plain", "gathered"]
    body: list[str] = []
    for index, kind in enumerate(shape):
        names += [f"key_{index}", f"details_{index}"]
        if kind[0] == "field":
            body += _field_block(index)
        else:
            names += [
                f"plan_{index}",
                f"read_{index}",
                f"same_{index}",
                f"coerce_{index}",
                f"leaf_{index}",
                f"type_{index}",
                f"null_message_{index}",
            ]
            _, attribute, has_same, non_null = kind
            body += _read_block(index, attribute, has_same, non_null)
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
    namespace: dict[str, Any] = {"Undefined": Undefined, "Path": Path}
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


def _read_block(i: int, attribute: str | None, has_same: bool, non_null: bool) -> list[str]:
    """A planned field, as the loop reads and completes it: unchanged type first, then
    plain values coerced, then null, awaitable, exception, anything else coerced."""
    read = f"source.{attribute}" if attribute is not None else f"read_{i}(source)"
    coerce = [
        f"    coerced = coerce_{i}(value)",
        "    if coerced is None or coerced is Undefined:",
        "        # graphql-core's error for it (complete_leaf_value raises).",
        f"        coerced = self.complete_leaf_value(leaf_{i}, value)",
        f"    results[key_{i}] = coerced",
    ]
    lines = ["try:", f"    value = {read}", "    kind = type(value)"]
    if has_same:
        lines += [f"    if kind is same_{i}:", f"        results[key_{i}] = value"]
        lines += ["    elif plain[kind]:"]
    else:
        lines += ["    if plain[kind]:"]
    lines += [f"    {line}" for line in coerce]
    lines += ["    elif value is None or value is Undefined:"]
    if non_null:
        lines += [f"        raise TypeError(null_message_{i})"]
    else:
        lines += [f"        results[key_{i}] = None"]
    lines += [
        "    elif self.is_awaitable(value):",
        "        if awaitable_fields is None:",
        "            awaitable_fields = []",
        f"        results[key_{i}] = self._complete_later(plan_{i}, parent_type,",
        f"            Path(path, key_{i}, type_name), details_{i}, value, position_context)",
        f"        awaitable_fields.append(key_{i})",
        "    else:",
        "        if isinstance(value, Exception):",
        "            raise value",
    ]
    lines += [f"    {line}" for line in coerce]
    lines += [
        "except Exception as raw_error:",
        "    # Raises again for a non-null field: the parent becomes null.",
        f"    self.handle_field_error(raw_error, type_{i}, details_{i},",
        f"        Path(path, key_{i}, type_name))",
        f"    results[key_{i}] = None",
    ]
    return lines
