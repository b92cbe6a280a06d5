"""Limits that keep one `/graphql` request from making the server do unbounded work.

All document checks run while parsing or validating, so an over-sized query is
refused before a single resolver runs:

- tokens: caps the document size the parser will even look at;
- depth: caps nesting (`task { executions { task { executions ... } } }`);
- aliases: caps the same field being requested hundreds of times under new names;
- cost: caps the estimated number of resolved fields, multiplying list fields by
  their page size (`limit`/`first` argument, from the query or its variables);
- batching: caps how many operations one HTTP request may carry (strawberry's
  `batching_config`);
- body size: an ASGI middleware refuses large request bodies before they are read
  into memory.

Extensions are returned as factories, not instances: strawberry builds one per
request, so per-request state (the variables the cost rule reads) is never shared.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from graphql.type.definition import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
)
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import BatchingConfig

from torale.graphql.error_codes import TOO_COMPLEX, set_code

DEFAULTS: dict[str, int] = {
    "graphql_max_depth": 10,
    "graphql_max_aliases": 30,
    "graphql_max_tokens": 5000,
    "graphql_max_cost": 20000,
    "graphql_default_list_size": 20,
    "graphql_max_batch_operations": 10,
    "max_request_body_bytes": 1024 * 1024,
}

LIST_SIZE_ARGUMENTS = ("limit", "first")


def _setting(settings_like: Any, name: str) -> int:
    value = getattr(settings_like, name, None) if settings_like is not None else None
    return DEFAULTS[name] if value is None else int(value)


def graphql_guard_extensions(settings_like: Any = None) -> list[Callable[[], SchemaExtension]]:
    """Extension factories for `strawberry.Schema(extensions=...)`.

    `settings_like` is any object with the `DEFAULTS` names as attributes (missing
    ones take the default), e.g. `torale.config.Settings`.
    """
    return [
        functools.partial(
            CodedMaxTokensLimiter, max_token_count=_setting(settings_like, "graphql_max_tokens")
        ),
        functools.partial(
            CodedQueryDepthLimiter, max_depth=_setting(settings_like, "graphql_max_depth")
        ),
        functools.partial(
            CodedMaxAliasesLimiter,
            max_alias_count=_setting(settings_like, "graphql_max_aliases"),
        ),
        functools.partial(
            QueryCostLimiter,
            max_cost=_setting(settings_like, "graphql_max_cost"),
            default_list_size=_setting(settings_like, "graphql_default_list_size"),
        ),
    ]


def batching_config(settings_like: Any = None) -> BatchingConfig | None:
    """For `StrawberryConfig(batching_config=...)`: None (0 configured) disables batching."""
    max_operations = _setting(settings_like, "graphql_max_batch_operations")
    return {"max_operations": max_operations} if max_operations > 0 else None


# graphql-core's message when the parser stops at `max_tokens` (a GraphQLSyntaxError).
_TOKEN_LIMIT_MESSAGE = "Document contains more than"


class CodedMaxTokensLimiter(MaxTokensLimiter):
    """Strawberry's token limit; its refusal is coded QUERY_TOO_COMPLEX, not a parse error."""

    def on_parse(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            if _TOKEN_LIMIT_MESSAGE in error.message:
                set_code(error, TOO_COMPLEX)


class _CodingContext:
    """A rule's view of the validation context: what it reports is coded `code`."""

    def __init__(self, context: ValidationContext, code: str) -> None:
        self._context = context
        self._code = code

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def report_error(self, error: GraphQLError) -> None:
        set_code(error, self._code)
        self._context.report_error(error)


def _coded_rule(rule: type[ASTValidationRule], code: str) -> type[ASTValidationRule]:
    class CodedRule(rule):  # type: ignore[valid-type, misc]
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(_CodingContext(context, code))

    CodedRule.__name__ = f"Coded{rule.__name__}"
    return CodedRule


class CodedQueryDepthLimiter(QueryDepthLimiter):
    """Strawberry's depth limit, its refusals coded QUERY_TOO_COMPLEX."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(max_depth=max_depth)
        self.validation_rules = [_coded_rule(r, TOO_COMPLEX) for r in self.validation_rules]


class CodedMaxAliasesLimiter(MaxAliasesLimiter):
    """Strawberry's alias limit, its refusals coded QUERY_TOO_COMPLEX."""

    def __init__(self, max_alias_count: int) -> None:
        super().__init__(max_alias_count=max_alias_count)
        self.validation_rules = [_coded_rule(r, TOO_COMPLEX) for r in self.validation_rules]


class QueryCostLimiter(SchemaExtension):
    """Refuses operations whose estimated field count exceeds `max_cost`.

    A field costs 1 plus the cost of its selection; a list field multiplies its
    selection's cost by its page size. Introspection (`__schema`, `__type`) is free:
    its size is bounded by the schema, not by the query.
    """

    def __init__(
        self,
        max_cost: int,
        default_list_size: int = 20,
        list_size_arguments: tuple[str, ...] = LIST_SIZE_ARGUMENTS,
    ) -> None:
        self.max_cost = max_cost
        self.default_list_size = default_list_size
        self.list_size_arguments = list_size_arguments

    def on_operation(self) -> Iterator[None]:
        rule = _cost_rule(
            self.max_cost,
            self.default_list_size,
            self.list_size_arguments,
            dict(self.execution_context.variables or {}),
        )
        self.execution_context.validation_rules = (*self.execution_context.validation_rules, rule)
        yield


def _cost_rule(
    max_cost: int,
    default_list_size: int,
    list_size_arguments: tuple[str, ...],
    variables: Mapping[str, Any],
) -> type[ValidationRule]:
    class QueryCostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            estimator = _CostEstimator(
                context.schema,
                fragments,
                variables,
                default_list_size,
                list_size_arguments,
                max_cost,
            )
            for definition in document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                root = context.schema.get_root_type(definition.operation)
                if root is None:
                    continue
                cost = estimator.selection_cost(definition.selection_set, root, frozenset())
                if cost > max_cost:
                    name = definition.name.value if definition.name else "anonymous"
                    context.report_error(
                        GraphQLError(
                            f"Query is too expensive: operation '{name}' exceeds the maximum "
                            f"cost of {max_cost} fields; request fewer fields or smaller pages",
                            definition,
                            extensions={"code": TOO_COMPLEX},
                        )
                    )

    return QueryCostRule


class _CostEstimator:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        default_list_size: int,
        list_size_arguments: tuple[str, ...],
        ceiling: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.default_list_size = default_list_size
        self.list_size_arguments = list_size_arguments
        # Estimates stop growing past the ceiling, so a hostile query cannot make
        # the estimate itself expensive (or astronomically large).
        self.ceiling = ceiling + 1

    def selection_cost(
        self, selection_set: SelectionSetNode | None, parent: Any, seen: frozenset[str]
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(selection, parent, seen)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    target = self.schema.get_type(selection.type_condition.name.value) or parent
                total += self.selection_cost(selection.selection_set, target, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # unknown or cyclic fragments are reported by standard validation
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                total += self.selection_cost(fragment.selection_set, target, seen | {name})
            if total >= self.ceiling:
                return self.ceiling
        return total

    def field_cost(self, node: FieldNode, parent: Any, seen: frozenset[str]) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        fields = (
            parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
        )
        field = fields.get(name)
        if field is None:
            return 1  # an unknown field is reported by standard validation
        child = self.selection_cost(node.selection_set, get_named_type(field.type), seen)
        multiplier = self.list_size(node, field) if _is_list(field.type) else 1
        return min(1 + multiplier * child, self.ceiling)

    def list_size(self, node: FieldNode, field: Any) -> int:
        for argument in node.arguments or ():
            if argument.name.value not in self.list_size_arguments:
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(int(value.value), 0)
            if isinstance(value, VariableNode):
                supplied = self.variables.get(value.name.value)
                if isinstance(supplied, int):
                    return max(supplied, 0)
        for arg_name in self.list_size_arguments:
            arg = field.args.get(arg_name)
            if arg is not None and isinstance(arg.default_value, int):
                return max(arg.default_value, 0)
        return self.default_list_size


def _is_list(type_: GraphQLOutputType) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class MaxBodySizeMiddleware:
    """Refuses HTTP request bodies over `max_bytes` with 413, before the app sees them.

    A declared Content-Length is checked up front (the server enforces that the
    body matches it). A body without one is read here up to the limit and replayed
    to the app; it is at most `max_bytes`, so buffering costs no more than the
    limit allows anyway.
    """

    def __init__(
        self,
        app: Any,
        max_bytes: int = DEFAULTS["max_request_body_bytes"],
        graphql_path: str | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Requests to this path are refused with a GraphQL-shaped body.
        self.graphql_path = graphql_path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        graphql = self.graphql_path is not None and scope.get("path") == self.graphql_path
        if length is not None:
            if length > self.max_bytes:
                await _too_large(send, graphql)
                return
            await self.app(scope, receive, send)
            return
        # No declared length (chunked, or HTTP/2): count what actually arrives.
        buffered: list[dict[str, Any]] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break  # client went away; let the app see the disconnect
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await _too_large(send, graphql)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> dict[str, Any]:
            if buffered:
                return buffered.pop(0)
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Mapping[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


TOO_LARGE = "Request body too large"


async def _too_large(send: Any, graphql: bool) -> None:
    shaped = (
        {"errors": [{"message": TOO_LARGE, "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}
        if graphql
        else {"detail": TOO_LARGE}
    )
    body = json.dumps(shaped).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
