"""An executor that reads plain fields straight off their source object.

Most of a list page is plain fields: a task's `name`, `state`, `created_at`, ...
Strawberry resolves each of them with a wrapper that calls `getattr`, and graphql-core
runs its whole per-field machinery around that (path, resolve info, argument values,
awaitable checks, the non-null and leaf completion). For 20 tasks of 28 fields that
is most of a request.

`PlainFieldExecutor` is Strawberry's execution context (graphql-core's `Executor`,
passed as `execution_context_class`, the documented way to customise execution) with
one method changed: `execute_fields`. Whether a field is plain is decided once per
(object type, field name) and cached:

- a Strawberry *basic* field: no resolver of its own, no field extensions (so no
  permission classes), Strawberry's default resolver (no exception handler), no
  arguments;
- typed as a scalar or an enum, nullable or not.

A plain field's value is `default_resolver(source, python_name)` (Strawberry's
configured default, `getattr`) completed by graphql-core's own `complete_leaf_value`;
a null in a non-null field, a value the scalar refuses, or an exception from the
attribute raise the very error graphql-core would raise, handed to its own
`handle_field_error`. Anything else, and any value that turns out to be awaitable,
takes graphql-core's path unchanged. `tests/graphql/test_plain_fields.py` compares
both executors on a wide query, errors included.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    Undefined,
    is_leaf_type,
)
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path, gather_with_cancel
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


class _Plain(NamedTuple):
    """How to read one plain field."""

    field: GraphQLField
    read: Callable[[Any, str], Any]  # Strawberry's default resolver: getattr
    attribute: str
    type: GraphQLOutputType  # as declared (for errors)
    leaf: GraphQLLeafType
    coerce: Callable[[Any], Any]  # the leaf's coerce_output_value
    # The Python type whose values the scalar returns unchanged (str for String and ID,
    # bool for Boolean): such a value needs no call at all.
    same: builtins.type | None  # (`type` here is the field above)
    non_null: bool
    null_message: str


# Values of exactly these types are never awaitable (no call to check them).
_NOT_AWAITABLE = frozenset(
    {str, int, bool, float, dict, list, tuple, uuid.UUID, datetime, date, Decimal}
)
_UNCHANGED: dict[GraphQLLeafType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
}


# Per object type: field name -> its plan, or None when graphql-core runs it.
_PLANS: WeakKeyDictionary[GraphQLObjectType, dict[str, _Plain | None]] = WeakKeyDictionary()


def _plan(field: GraphQLField | None, parent: GraphQLObjectType, name: str) -> _Plain | None:
    if field is None or field.args or field.resolve is None:
        return None
    if not is_default_resolver(field.resolve):
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    type_ = field.type
    non_null = isinstance(type_, GraphQLNonNull)
    leaf = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if not is_leaf_type(leaf):
        return None
    return _Plain(
        field=field,
        read=definition.default_resolver,
        attribute=definition.python_name,
        type=type_,
        leaf=leaf,
        coerce=leaf.coerce_output_value,
        same=_UNCHANGED.get(leaf),
        non_null=non_null,
        # graphql-core's own wording (complete_value).
        null_message=f"Cannot return null for non-nullable field {parent}.{name}.",
    )


def _plans(parent: GraphQLObjectType) -> dict[str, _Plain | None]:
    plans = _PLANS.get(parent)
    if plans is None:
        plans = _PLANS[parent] = {}
    return plans


# A sentinel, typed Any so that a plan read from the cache keeps its own type.
_UNKNOWN: Any = object()


class PlainFieldExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_fields`, with plain fields read directly."""
        if self.middleware_manager is not None:
            # Middleware wraps every resolver; only graphql-core's path calls it.
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plans = _plans(parent_type)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                name = node.name.value
                plan = plans.get(name, _UNKNOWN)
                if plan is _UNKNOWN:
                    plan = plans[name] = _plan(parent_type.fields.get(name), parent_type, name)
                if plan is None or node.arguments:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        field_details_list,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
                    continue
                # A plain field. graphql-core's order: awaitable, exception, null, leaf.
                try:
                    value = plan.read(source_value, plan.attribute)
                    kind = type(value)
                    if kind is plan.same:
                        results[response_name] = value
                        continue
                    if kind not in _NOT_AWAITABLE and is_awaitable(value):
                        results[response_name] = self._complete_later(
                            plan,
                            parent_type,
                            Path(path, response_name, parent_type.name),
                            field_details_list,
                            value,
                            position_context,
                        )
                        awaitable_fields.append(response_name)
                        continue
                    if isinstance(value, Exception):
                        raise value
                    if value is None or value is Undefined:
                        if plan.non_null:
                            raise TypeError(plan.null_message)
                        results[response_name] = None
                        continue
                    coerced = plan.coerce(value)
                    if coerced is None or coerced is Undefined:
                        # graphql-core's error for it (complete_leaf_value raises).
                        coerced = self.complete_leaf_value(plan.leaf, value)
                    results[response_name] = coerced
                except Exception as raw_error:
                    # Raises again for a non-null field: the parent becomes null.
                    self.handle_field_error(
                        raw_error,
                        plan.type,
                        field_details_list,
                        Path(path, response_name, parent_type.name),
                    )
                    results[response_name] = None
        except Exception:
            if awaitable_fields:
                # As graphql-core does: settle what other fields started.
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _gathered(results, awaitable_fields)

    def _complete_later(
        self,
        plan: _Plain,
        parent_type: GraphQLObjectType,
        path: Path,
        field_details_list: Any,
        value: Any,
        position_context: Any,
    ) -> Any:
        """An attribute that held an awaitable: completed as graphql-core completes a
        resolver's awaitable result."""
        info = self.build_resolve_info(plan.field, to_nodes(field_details_list), parent_type, path)
        return self.complete_awaitable_value(
            plan.type, field_details_list, info, path, value, position_context
        )


async def _gathered(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    # The end of graphql-core's execute_fields: await the fields that returned awaitables.
    if len(awaitable_fields) == 1:
        field = awaitable_fields[0]
        results[field] = await results[field]
    else:
        awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
    return results
