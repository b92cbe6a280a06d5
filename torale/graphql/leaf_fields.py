"""Plain scalar fields completed in one step instead of graphql-core's full per-field walk.

A 20-task page selects about 480 fields, nearly all of them scalars read straight off a
row: no resolver, no arguments. For each one graphql-core builds a `GraphQLResolveInfo`,
calls the default resolver and descends through `complete_value`; on a list request
that walk is a large share of the CPU. This mixin reads such a field and coerces it
with its scalar directly.

Only the unremarkable case is short-cut. Any field with a resolver or arguments, and
any value the short cut is not sure about (None for a non-null field, something
callable or awaitable, a value the scalar refuses), goes through graphql-core's own
`execute_field`, which then produces exactly its usual result or error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from graphql import (
    GraphQLLeafType,
    GraphQLObjectType,
    Undefined,
    default_field_resolver,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.pyutils import Path


class _PlainLeaf(NamedTuple):
    field_name: str
    scalar: GraphQLLeafType
    nullable: bool


class _Plan(NamedTuple):
    # Held so that its id, the cache key, cannot be reused during the execution.
    grouped_field_set: Mapping[str, Any]
    # Every response name in query order, with its plain leaf or None.
    fields: list[tuple[str, _PlainLeaf | None]]
    # The fields that always take graphql-core's path.
    others: dict[str, Any]


class PlainLeafFieldsMixin:
    """Mix into a graphql-core `Executor` subclass (before it in the bases)."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Mapping[str, Any],
        position_context: Any,
    ) -> Any:
        plan = self._plan(parent_type, grouped_field_set)
        if plan is None:
            return super().execute_fields(  # type: ignore[misc]
                parent_type, source_value, path, grouped_field_set, position_context
            )
        from_mapping = isinstance(source_value, Mapping)
        is_awaitable = self.is_awaitable  # type: ignore[attr-defined]
        # Results keep query order: every name gets its slot now, and the full
        # path's answers land in theirs (dict.update keeps existing positions).
        results: dict[str, Any] = {}
        full_path = plan.others
        for response_name, leaf in plan.fields:
            results[response_name] = None
            if leaf is None:
                continue
            value = (
                source_value.get(leaf.field_name)
                if from_mapping
                else getattr(source_value, leaf.field_name, None)
            )
            if value is None:
                if leaf.nullable:
                    continue
            elif not callable(value) and not is_awaitable(value):
                try:
                    coerced = leaf.scalar.coerce_output_value(value)
                except Exception:
                    coerced = None
                if coerced is not None and coerced is not Undefined:
                    results[response_name] = coerced
                    continue
            if full_path is plan.others:
                full_path = dict(plan.others)
            full_path[response_name] = plan.grouped_field_set[response_name]
        if not full_path:
            return results
        rest = super().execute_fields(  # type: ignore[misc]
            parent_type, source_value, path, full_path, position_context
        )
        if not is_awaitable(rest):
            results.update(rest)
            return results

        async def merged() -> dict[str, Any]:
            results.update(await rest)
            return results

        return merged()

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Mapping[str, Any]) -> Any:
        cache: dict[tuple[GraphQLObjectType, int], _Plan | None]
        try:
            cache = self._plain_leaf_plans  # type: ignore[has-type]
        except AttributeError:
            cache = self._plain_leaf_plans = {}
        key = (parent_type, id(grouped_field_set))
        if key not in cache:
            cache[key] = self._make_plan(parent_type, grouped_field_set)
        return cache[key]

    def _make_plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: Mapping[str, Any]
    ) -> _Plan | None:
        if self.middleware_manager or self.field_resolver is not default_field_resolver:  # type: ignore[attr-defined]
            return None
        fields = [
            (name, self._plain_leaf(parent_type, details))
            for name, details in grouped_field_set.items()
        ]
        if all(leaf is None for _, leaf in fields):
            return None
        others = {name: grouped_field_set[name] for name, leaf in fields if leaf is None}
        return _Plan(grouped_field_set, fields, others)

    def _plain_leaf(self, parent_type: GraphQLObjectType, field_details_list: Any) -> Any:
        node = field_details_list[0].node
        field_def = self.schema.get_field(parent_type, node.name.value)  # type: ignore[attr-defined]
        if field_def is None or field_def.resolve is not None or field_def.args or node.arguments:
            return None
        scalar = get_nullable_type(field_def.type)
        if not is_leaf_type(scalar):
            return None
        return _PlainLeaf(node.name.value, scalar, not is_non_null_type(field_def.type))
