"""Every `/graphql` error carries `extensions.code`, so clients can switch on it.

Codes, besides the domain's own (`torale.errors`: UNAUTHENTICATED, FORBIDDEN,
NOT_FOUND, VALIDATION, CONFLICT, RATE_LIMITED, UNAVAILABLE, INTERNAL):

- GRAPHQL_PARSE_FAILED: the document is not GraphQL;
- GRAPHQL_VALIDATION_FAILED: the document does not fit the schema (unknown field,
  wrong literal, introspection where it is off);
- QUERY_TOO_COMPLEX: a guard refused it (tokens, depth, aliases, cost; see
  `torale.graphql.guards`, which codes those errors where they are raised);
- BAD_USER_INPUT: a variable or argument value that does not fit its type;
- BAD_REQUEST, NOT_FOUND, METHOD_NOT_ALLOWED: refusals of the HTTP request itself
  (`torale.graphql.endpoint`), PAYLOAD_TOO_LARGE for a body over the size limit
  (`torale.graphql.guards.MaxBodySizeMiddleware`).

The extension below gives each error the code of the phase that produced it, unless it
already has one. Errors raised before GraphQL runs at all (the rate limit is counted
while the request's context is built) are rendered by `http_error_body`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from torale.errors import ToraleError

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
TOO_COMPLEX = "QUERY_TOO_COMPLEX"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL"


def set_code(error: GraphQLError, code: str) -> None:
    """Give `error` a code unless it has one (a domain error brings its own)."""
    extensions = dict(error.extensions or {})
    extensions.setdefault("code", code)
    error.extensions = extensions


def _code_all(errors: Iterable[GraphQLError] | None, code: str) -> None:
    for error in errors or ():
        set_code(error, code)


class ErrorCodes(SchemaExtension):
    """Codes by phase. Listed first among the schema's extensions, so that its
    `on_operation` ends last and also sees the errors other extensions replaced."""

    def on_parse(self) -> Iterator[None]:
        yield
        _code_all(self.execution_context.pre_execution_errors, PARSE_FAILED)

    def on_validate(self) -> Iterator[None]:
        yield
        _code_all(self.execution_context.pre_execution_errors, VALIDATION_FAILED)

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or ():
            original = error.original_error
            # No original, or graphql-core's own: a value that did not coerce (variables
            # are checked before any field runs). Anything else unexpected was masked
            # already and has its INTERNAL code.
            unexpected = original is not None and not isinstance(original, GraphQLError)
            set_code(error, INTERNAL if unexpected else BAD_USER_INPUT)


def http_error_body(error: ToraleError) -> dict[str, Any]:
    """The GraphQL-shaped body of a domain error raised outside execution (e.g. 429)."""
    return {"errors": [{"message": error.message, "extensions": dict(error.extensions)}]}
