"""An executor that completes lists of objects in one loop per object.

Most of a list page is leaf fields of many objects of one type: a task's `name`,
`state`, `created_at`, ... graphql-core completes each object through a chain of
calls (complete_value, complete_object_value, collect_and_execute_subfields,
execute_fields) and each field through its whole per-field machinery (path, resolve
info, argument values, awaitable checks, the non-null and leaf completion), with
Strawberry's resolver wrapper around the read. For 20 tasks of 28 fields that was
most of a request.

`PlainFieldExecutor` is Strawberry's execution context (graphql-core's `Executor`,
passed as `execution_context_class`, the documented way to customise execution).
It changes these methods, each falling back to graphql-core's own for anything else:

- `build`: a request with the same document and plain variables as an earlier one
  starts from what `build` worked out for that one (`torale.graphql.prepared`);
- `collect_subfields`: a sub-selection that reads no variable is collected once and
  shared by every request (`torale.graphql.selection_plans`), with its plan;
- `complete_list_item_value`: an item of a list of an object type (no `is_type_of`,
  no `@defer` in play) goes straight to `execute_fields`, where graphql-core passes
  it through complete_value, complete_object_value and two more calls first;
- `get_stream_usage`: a list field without directives does not stream (no lookup);
- `execute_fields`: a field the plan reads directly (`torale.graphql.field_plans`:
  an attribute, or a plain method of the object, typed as a scalar or an enum) is
  read and completed in the loop; every other field goes to graphql-core's
  `execute_field`. A planned selection that has completed `WRITE_OUT_AFTER` objects
  runs the same loop written out as code for it (`torale.graphql.field_code`);
- `build_response`: once the response is built and nothing runs on in the
  background, the executor lets go of its self-referencing helpers, so that it is
  freed by reference counting instead of leaving a cycle to the garbage collector.

A directly read field raises the very errors graphql-core would raise (a null in a
non-null field, a value the scalar refuses, an exception from the read), handed to
its own `handle_field_error`; a value that turns out to be awaitable is completed by
graphql-core's `complete_awaitable_value`. `tests/graphql/test_plain_fields.py`
compares this executor with Strawberry's on wide queries, errors included.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    default_field_resolver,
    default_type_resolver,
)
from graphql.execution import Executor
from graphql.execution.collect_fields import CollectedFields, FieldDetails
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from torale.graphql.field_code import field_error, fields_run, unusual_value
from torale.graphql.field_plans import FieldRead
from torale.graphql.prepared import lookup, prepared_key, remember
from torale.graphql.selection_plans import (
    PlannedFields,
    Step,
    plan_step,
    planned,
    shared_key,
    shared_lookup,
    shared_store,
)

# Values of exactly these types are never awaitable, an exception or null: they go
# straight to the leaf's coercion.
_PLAIN_VALUES = (str, int, bool, float, dict, list, tuple, uuid.UUID, datetime, date, Decimal)


# Per value type: whether its values are plain like those. A subclass is, when nothing
# lets one of its values answer graphql-core's awaitable check differently: no
# `__await__`, no attributes of its own per value, no attribute hooks (asyncpg's UUID).
# Decided on a type's first value (`__missing__`), then one lookup, None's too.
class _PlainTypes(dict[type, bool]):
    def __missing__(self, kind: type) -> bool:
        plain = self[kind] = (
            issubclass(kind, _PLAIN_VALUES)
            and not issubclass(kind, BaseException)
            and not hasattr(kind, "__await__")
            and not hasattr(kind, "__getattr__")
            and cast(Any, kind).__getattribute__ is object.__getattribute__
            and kind.__dictoffset__ == 0
        )
        return plain


_PLAIN_TYPES = _PlainTypes(dict.fromkeys(_PLAIN_VALUES, True))

# A planned selection's loop is written out as code (`torale.graphql.field_code`) once
# it has completed this many objects: a selection served often (a list page's rows)
# pays for writing it (a few milliseconds) once, over many requests; a document sent
# once, even for a long list, never does.
WRITE_OUT_AFTER = 1024


class PlainFieldExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # This execution's planned sub-selections, by the identity of the field
        # details they were collected for (each kept alive with its answer).
        self._planned: dict[tuple[Any, int], tuple[list[FieldDetails], CollectedFields]] = {}
        # The list whose items were completed last, and its planned fields: decided
        # on its first item, for the rest (field details, item type, deferred part).
        self._last_list: tuple[Any, Any, Any, PlannedFields | None] | None = None

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        field_resolver: Any = None,
        type_resolver: Any = None,
        subscribe_field_resolver: Any = None,
        max_coercion_errors: int = 50,
        enable_early_execution: bool = False,
        middleware: Any = None,
        is_awaitable: Any = None,
        is_async_iterable: Any = None,
        hide_suggestions: bool = False,
        abort_signal: Any = None,
        hooks: Any = None,
        **custom_args: Any,
    ) -> list[GraphQLError] | Executor:
        """graphql-core's, starting from what it worked out for an earlier request
        with the same document and plain variables (`torale.graphql.prepared`): the
        executor is then constructed with those, exactly as `build` constructs it."""
        key = None
        if (
            field_resolver is None
            and type_resolver is None
            and subscribe_field_resolver is None
            and middleware is None
        ):
            key = prepared_key(
                schema,
                document,
                raw_variable_values,
                operation_name,
                max_coercion_errors,
                hide_suggestions,
            )
        prepared = lookup(key, schema, document) if key is not None else None
        if prepared is None:
            executor = super().build(
                schema,
                document,
                root_value,
                context_value,
                raw_variable_values,
                operation_name,
                field_resolver,
                type_resolver,
                subscribe_field_resolver,
                max_coercion_errors,
                enable_early_execution,
                middleware,
                is_awaitable,
                is_async_iterable,
                hide_suggestions=hide_suggestions,
                abort_signal=abort_signal,
                hooks=hooks,
                **custom_args,
            )
            if key is not None and isinstance(executor, cls):
                remember(key, schema, document, executor)
            return executor
        return cls(
            schema,
            dict(prepared.fragment_definitions),
            dict(prepared.fragments),
            root_value,
            context_value,
            prepared.operation,
            prepared.variables(),
            default_field_resolver,
            default_type_resolver,
            default_field_resolver,
            enable_early_execution,
            None,
            is_awaitable,
            is_async_iterable,
            hide_suggestions=hide_suggestions,
            abort_signal=abort_signal,
            hooks=hooks,
            **custom_args,
        )

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: list[FieldDetails]
    ) -> CollectedFields:
        """graphql-core's, planned, and shared between requests when it can be."""
        memo_key = (return_type, id(field_details_list))
        memo = self._planned.get(memo_key)
        if memo is not None:
            return memo[1]
        key = shared_key(return_type, field_details_list)
        collected = shared_lookup(key, self.fragments) if key is not None else None
        if collected is None:
            collected = planned(
                self.schema, return_type, super().collect_subfields(return_type, field_details_list)
            )
            if key is not None and isinstance(collected.grouped_field_set, PlannedFields):
                shared_store(key, field_details_list, self.fragments, collected)
        if isinstance(collected.grouped_field_set, PlannedFields):
            self._planned[memo_key] = (field_details_list, collected)
        return collected

    def build_response(self, data: dict[str, Any] | None) -> Any:
        """graphql-core's, then, when no work is left in the background, the
        executor's references dropped: its resolve-info helpers hold bound methods of
        it, a cycle that would keep it (and every field detail and plan it holds)
        alive until the cyclic garbage collector runs; without the cycle, reference
        counting frees it as soon as the request lets go of it."""
        response = super().build_response(data)
        if (
            not self.background_futures
            and not self.pending_incremental_futures
            and self.async_work_finished_hook_task is None
            and isinstance(response, ExecutionResult)
        ):
            self.async_helpers = None  # type: ignore[assignment]
            self._planned = {}
            self._last_list = None
        return response

    def get_stream_usage(self, field_details_list: Any, path: Path) -> Any:
        """graphql-core's, answered at once for a field without directives: only
        `@stream` on the field makes a list stream."""
        if not field_details_list[0].node.directives:
            return None
        return super().get_stream_usage(field_details_list, path)

    def complete_list_item_value(
        self,
        item: Any,
        complete_results: list[Any],
        item_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        item_path: Path,
        position_context: Any,
    ) -> bool:
        """graphql-core's, with an object item's fields executed directly."""
        planned = None
        if item is not None and not isinstance(item, Exception):  # else graphql-core's words
            last = self._last_list
            if (
                last is not None
                and last[0] is field_details_list
                and last[1] is item_type
                and last[2] is position_context
            ):
                planned = last[3]  # the list's previous item decided it: the same for all
            else:
                planned = self._planned_item(item_type, field_details_list, position_context)
                self._last_list = (field_details_list, item_type, position_context, planned)
        if planned is None:
            return super().complete_list_item_value(
                item,
                complete_results,
                item_type,
                field_details_list,
                info,
                item_path,
                position_context,
            )
        try:
            run = planned.run
            if run is not None:  # `execute_fields` would call it (no middleware here)
                completed = run(self, planned.parent, item, item_path, None)
            else:
                completed = self.execute_fields(planned.parent, item, item_path, planned, None)
            # An object's fields come back as a dict, or as an awaitable of one.
            if type(completed) is not dict and self.is_awaitable(completed):
                complete_results.append(
                    self._item_later(completed, item_type, field_details_list, item_path)
                )
                return True
            complete_results.append(completed)
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details_list, item_path)
            complete_results.append(None)
        return False

    def _planned_item(
        self,
        item_type: GraphQLOutputType,
        field_details_list: Any,
        position_context: Any,
    ) -> PlannedFields | None:
        """The planned fields of the (non-null) items of a list of a plain object type,
        else None: nothing here depends on the item itself."""
        object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if (
            type(object_type) is not GraphQLObjectType
            or object_type.is_type_of is not None
            or position_context is not None  # deferred parts in play
            or self.middleware_manager is not None
        ):
            return None
        try:
            grouped = self.collect_subfields(object_type, field_details_list).grouped_field_set
        except Exception:
            return None  # graphql-core's path collects again, and handles the error
        return grouped if isinstance(grouped, PlannedFields) else None

    async def _item_later(
        self,
        completed: Any,
        item_type: GraphQLOutputType,
        field_details_list: Any,
        item_path: Path,
    ) -> Any:
        # graphql-core's await_completed in complete_list_item_value.
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details_list, item_path)
            return None

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_fields`, with planned fields read directly."""
        if self.middleware_manager is not None:
            # Middleware wraps every resolver; only graphql-core's path calls it.
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        steps: tuple[Step, ...]
        if isinstance(grouped_field_set, PlannedFields) and grouped_field_set.parent is parent_type:
            run = grouped_field_set.run
            if run is not None:
                return run(self, parent_type, source_value, path, position_context)
            steps = grouped_field_set.steps
            grouped_field_set.completed += 1
            if grouped_field_set.completed == WRITE_OUT_AFTER:
                grouped_field_set.run = fields_run(steps, parent_type.name, _PLAIN_TYPES, _gathered)
        else:  # root fields, or a deferred part: planned here, for this once
            steps = tuple(
                plan_step(self.schema, parent_type, key, details)
                for key, details in grouped_field_set.items()
            )
        type_name = parent_type.name
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for step in steps:
                key, details, plan, read, same, coerce = step
                if plan is None:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        details,
                        Path(path, key, type_name),
                        position_context,
                    )
                    if result is Undefined:
                        continue
                    results[key] = result
                    if is_awaitable(result):
                        awaitable_fields.append(key)
                    continue
                # A planned field. graphql-core's order: awaitable, exception, null, leaf
                # (a null is neither of the first two: it is tested first here).
                try:
                    value = read(source_value)
                    kind = type(value)
                    if kind is same:
                        results[key] = value
                    elif _PLAIN_TYPES[kind]:
                        coerced = coerce(value)
                        if coerced is None or coerced is Undefined:
                            # graphql-core's error for it (complete_leaf_value raises).
                            coerced = self.complete_leaf_value(plan.leaf, value)
                        results[key] = coerced
                    else:
                        unusual_value(
                            self,
                            step,
                            value,
                            results,
                            awaitable_fields,
                            parent_type,
                            path,
                            type_name,
                            position_context,
                        )
                except Exception as raw_error:
                    field_error(self, step, raw_error, results, path, type_name)
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
        plan: FieldRead,
        parent_type: GraphQLObjectType,
        path: Path,
        field_details_list: Any,
        value: Any,
        position_context: Any,
    ) -> Any:
        """A read that gave an awaitable: completed as graphql-core completes a
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
