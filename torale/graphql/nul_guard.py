"""Refuse NUL characters in any input string, wherever it would be stored.

PostgreSQL cannot store U+0000 in `text` or `jsonb`, so a NUL anywhere in a request
would otherwise surface as a database error (a 500) deep inside a service. Both
doors check it once, before anything runs: the REST executor on its variables, and
`/graphql` (this extension) on its variables and string literals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from torale.errors import FieldError, ValidationFailed

MESSAGE = "Text must not contain NUL (\\u0000) characters"


def nul_paths(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if "\x00" in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                yield (*path, key)
            yield from nul_paths(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from nul_paths(item, (*path, index))


def refuse_nul(variables: dict[str, Any] | None) -> None:
    """422 naming each offending field; a body's `input` wrapper is not part of its path."""
    errors = [
        FieldError(["body", *(path[1:] if path and path[0] == "input" else path)], MESSAGE)
        for path in nul_paths(variables or {})
    ]
    if errors:
        raise ValidationFailed(errors)


class _NulLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        self.found = self.found or "\x00" in node.value


class RefuseNulCharacters(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        try:
            refuse_nul(context.variables)
            literals = _NulLiterals()
            if context.graphql_document is not None:
                visit(context.graphql_document, literals)
            if literals.found:
                raise ValidationFailed([FieldError(["query"], MESSAGE)])
        except ValidationFailed as error:
            # A result set here means the operation is not executed at all.
            context.result = ExecutionResult(
                data=None, errors=[GraphQLError(error.message, original_error=error)]
            )
        yield
