"""`/graphql` over HTTP: Strawberry's router, strict about what a request body may be.

Strawberry assumes a well-formed body: `[1]`, `"x"` or `null` reach `.get()` on a
non-object, bytes that are not UTF-8 escape its JSON error handling, and a body (or
a query) nested thousands of levels deep exhausts Python's recursion while being
parsed. Each of those was a 500 or a reset connection. Here every malformed request
is a 400 with a GraphQL-shaped body, before anything executes:

    {"errors": [{"message": "...", "extensions": {"code": "BAD_REQUEST"}}]}

The refusals Strawberry itself makes (unsupported content type, too many batched
operations, no query) get the same shape instead of plain text.

Requests reach it without FastAPI's dependency solving (torale.graphql.direct_view).
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from cross_web import HTTPException
from graphql import GraphQLSyntaxError, Lexer, Source, TokenKind
from starlette.responses import HTMLResponse, JSONResponse
from strawberry.http import GraphQLRequestData

from torale.graphql.direct_view import DirectGraphQLRouter
from torale.http.docs import graphiql_page
from torale.http.responses import json_bytes
from torale.input_limits import MAX_DOCUMENT_NESTING

if TYPE_CHECKING:
    from torale.graphql.pipeline_schema import PipelineSchema

_OPENERS = (TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L)
_CLOSERS = (TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R)
_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}

NOT_JSON = "Request body must be UTF-8 encoded JSON"
TOO_DEEP = "Request body is nested too deeply"
NOT_A_REQUEST = (
    "Request body must be a JSON object with a `query` string, or a list of them for a batch"
)
QUERY_TOO_DEEP = (
    f"Query is nested too deeply: at most {MAX_DOCUMENT_NESTING} levels of (), [] and {{}}"
)


def graphql_error(status_code: int, message: str) -> JSONResponse:
    code = _CODES.get(status_code, "BAD_REQUEST")
    # Messages may quote the request (an unknown operation name): keep them encodable.
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status_code
    )


# Keyed by the document text, like the pipeline's compiled documents: a client sending
# the same query again is not lexed again.
@functools.lru_cache(maxsize=256)
def document_nesting(query: str, max_tokens: int) -> int:
    """Deepest bracket nesting among the first `max_tokens` tokens (the parser reads no
    more than that), found with graphql-core's lexer: no recursion, strings and comments
    skipped properly. A syntax error ends the scan; the parser reports it."""
    lexer = Lexer(Source(query))
    depth = deepest = 0
    try:
        for _ in range(max_tokens):
            token = lexer.advance()
            if token.kind == TokenKind.EOF:
                break
            if token.kind in _OPENERS:
                depth += 1
                deepest = max(deepest, depth)
            elif token.kind in _CLOSERS:
                depth -= 1
    except GraphQLSyntaxError:
        pass
    return deepest


def _check_request(item: Any, max_tokens: int) -> None:
    if not isinstance(item, dict):
        raise HTTPException(400, NOT_A_REQUEST)
    query, name = item.get("query"), item.get("operationName")
    if not isinstance(query, str | None) or not isinstance(name, str | None):
        raise HTTPException(400, NOT_A_REQUEST)
    if isinstance(query, str) and document_nesting(query, max_tokens) > MAX_DOCUMENT_NESTING:
        raise HTTPException(400, QUERY_TOO_DEEP)


class ToraleGraphQLRouter(DirectGraphQLRouter):
    schema: PipelineSchema  # what the app mounts it with

    @property
    def _max_tokens(self) -> int:
        # The nesting scan reads as far as the parser will (the schema's token limit).
        return self.schema.pipeline.limits.max_tokens

    def decode_json(self, data: str | bytes) -> object:
        try:
            return json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
        except RecursionError:
            raise HTTPException(400, TOO_DEEP) from None
        except ValueError:  # not UTF-8, or not JSON
            raise HTTPException(400, NOT_JSON) from None

    def encode_json(self, data: object) -> bytes:
        # As REST writes its bodies (orjson, UTF-8), not Strawberry's `json.dumps`: a
        # 20-task page took ~0.1 ms of CPU to encode that way, about 7% of a request.
        return json_bytes(data)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET naming a persisted operation carries no `query`, but is no browser.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST" and "json" in (request.content_type or ""):
            # Strawberry reads fields off the body without checking it is an object.
            body = self.parse_json(await request.get_body())
            if body == []:
                raise HTTPException(400, NOT_A_REQUEST)
            for item in body if isinstance(body, list) else [body]:
                _check_request(item, self._max_tokens)
        parsed = await super().parse_http_body(request)
        for item in parsed if isinstance(parsed, list) else [parsed]:
            _check_request(
                {"query": item.query, "operationName": item.operation_name}, self._max_tokens
            )
        return parsed

    async def render_graphql_ide(self, request: Any) -> HTMLResponse:
        # Strawberry's page loads GraphiQL from a CDN; ours from our own assets.
        return HTMLResponse(graphiql_page(request.scope.get("root_path", "")))

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().run(*args, **kwargs)
        except HTTPException as exc:
            return graphql_error(exc.status_code, exc.reason)
