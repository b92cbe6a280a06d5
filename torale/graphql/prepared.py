"""What graphql-core's `Executor.build` works out before executing, kept per request
shape.

Before any field runs, `build` finds the operation and the fragments in the document
and coerces the variables against their definitions (each definition's type looked
up in the schema, each value coerced). For a REST operation that is the same work on
every request: the same document, and variables that are a handful of plain values
(`page=1`, `limit=20`). So the outcome is kept, per schema, document, operation name
and variables, and the next request with the same ones starts from it.

Only what cannot tell two requests apart is kept: variables whose raw values are all
`int`, `str`, `bool` or null (keyed by type too, so `1` and `True` stay apart), whose
coerced values are such plain values or enum members, and only a successful
coercion (errors are worked out, and reported, afresh). Each request gets its own
copies of the dictionaries, so nothing one request does to them reaches another.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, VariableValues

import torale.bounded

# Raw and coerced variable values that are immutable and equal only to themselves
# (floats are not: -0.0 == 0.0).
_PLAIN = frozenset({int, str, bool, type(None)})
# Shapes kept: per document, one per distinct set of variable values (page numbers...).
_KEPT = 1024


@dataclass(frozen=True, slots=True)
class Prepared:
    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    fragment_definitions: dict[str, Any]
    fragments: dict[str, Any]
    variable_values: VariableValues

    def variables(self) -> VariableValues:
        """This request's own copy of the coerced variables."""
        values = self.variable_values
        return VariableValues(dict(values.sources), dict(values.coerced))


_PREPARED: dict[tuple[Any, ...], Prepared] = {}


def prepared_key(
    schema: GraphQLSchema,
    document: DocumentNode,
    raw_variables: dict[str, Any] | None,
    *options: Any,
) -> tuple[Any, ...] | None:
    """The key of a request's preparation, or None when it is not kept.

    `options` are the other arguments `build` reads (operation name, error limit...)."""
    key: list[Any] = [id(schema), id(document), *options]
    for name, value in (raw_variables or {}).items():
        kind = type(value)
        if kind not in _PLAIN:
            return None
        key += (name, kind, value)
    return tuple(key)


def lookup(key: tuple[Any, ...], schema: GraphQLSchema, document: DocumentNode) -> Prepared | None:
    prepared = _PREPARED.get(key)
    # The objects themselves, not only their ids (which others may reuse once freed).
    if prepared is None or prepared.schema is not schema or prepared.document is not document:
        return None
    return prepared


def remember(
    key: tuple[Any, ...],
    schema: GraphQLSchema,
    document: DocumentNode,
    executor: Any,
) -> None:
    """Keep what `build` worked out for `executor`, if its variables are plain."""
    values: VariableValues = executor.variable_values
    if not all(type(v) in _PLAIN or isinstance(v, Enum) for v in values.coerced.values()):
        return
    prepared = Prepared(
        schema,
        document,
        executor.operation,
        dict(executor.fragment_definitions),
        dict(executor.fragments),
        VariableValues(dict(values.sources), dict(values.coerced)),
    )
    torale.bounded.remember(_PREPARED, key, prepared, _KEPT)
