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
  (`torale.http.body_size.MaxBodySizeMiddleware`).

The pipeline (`torale.graphql.pipeline`) gives each error the code of the phase that
produced it, unless it already has one. Errors raised before GraphQL runs at all (the
rate limit is counted while the request's context is built) are rendered by
`http_error_body`.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

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


def http_error_body(error: ToraleError) -> dict[str, Any]:
    """The GraphQL-shaped body of a domain error raised outside execution (e.g. 429)."""
    return {"errors": [{"message": error.message, "extensions": dict(error.extensions)}]}
