"""The guards that keep one GraphQL request from making the server do unbounded work.

Each enforces one of the configured `GraphQLLimits` (torale.graphql.limits), and the
pipeline (torale.graphql.pipeline) applies them before a single resolver runs:

- tokens: caps the document size the parser will even look at (`parse(max_tokens=)`);
- depth: caps nesting (`task { executions { task { executions ... } } }`);
- aliases: caps the same field being requested hundreds of times under new names;
- cost: caps the estimated number of resolved fields, multiplying list fields by
  their page size (`limit`/`first` argument, from the query or its variables);
- batching: caps how many operations one HTTP request may carry (strawberry's
  `batching_config`).

Request bodies are capped before they are read, by an HTTP middleware
(torale.http.body_size).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    DocumentNode,
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
    VariableNode,
    Visitor,
    get_named_type,
    visit,
)
from graphql.type.definition import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
)
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import BatchingConfig

from torale.graphql.error_codes import TOO_COMPLEX, set_code
from torale.graphql.limits import GraphQLLimits

LIST_SIZE_ARGUMENTS = ("limit", "first")


def batching_config(limits: GraphQLLimits) -> BatchingConfig | None:
    """For `StrawberryConfig(batching_config=...)`: None (0 configured) disables batching."""
    max_operations = limits.max_batch_operations
    return {"max_operations": max_operations} if max_operations > 0 else None


# graphql-core's message when the parser stops at `max_tokens` (a GraphQLSyntaxError).
TOKEN_LIMIT_MESSAGE = "Document contains more than"


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
    # A subclass of whichever rule is given: a checker cannot see a variable's class.
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


def cost_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any],
    *,
    max_cost: int,
    default_list_size: int,
    list_size_arguments: tuple[str, ...] = LIST_SIZE_ARGUMENTS,
) -> list[GraphQLError]:
    """One error per operation of `document` whose estimated cost exceeds `max_cost`."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    estimator = _CostEstimator(
        schema, fragments, variables, default_list_size, list_size_arguments, max_cost
    )
    errors = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        root = schema.get_root_type(definition.operation)
        if root is None:
            continue
        cost = estimator.selection_cost(definition.selection_set, root, frozenset())
        if cost > max_cost:
            name = definition.name.value if definition.name else "anonymous"
            errors.append(
                GraphQLError(
                    f"Query is too expensive: operation '{name}' exceeds the maximum "
                    f"cost of {max_cost} fields; request fewer fields or smaller pages",
                    definition,
                    extensions={"code": TOO_COMPLEX},
                )
            )
    return errors


def size_variables(
    document: DocumentNode, list_size_arguments: tuple[str, ...] = LIST_SIZE_ARGUMENTS
) -> tuple[str, ...]:
    """The variables a cost estimate of `document` may read (page sizes given by variable)."""
    names: set[str] = set()

    class _Collect(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            if node.name.value in list_size_arguments and isinstance(node.value, VariableNode):
                names.add(node.value.name.value)

    visit(document, _Collect())
    return tuple(sorted(names))


def guard_validation_rules(limits: GraphQLLimits) -> tuple[type[ASTValidationRule], ...]:
    """The depth and alias limits as validation rules, for the execution pipeline.

    Built by Strawberry's own extensions, so they give Strawberry's messages; the
    pipeline validates a document once, not per request.
    """
    depth = CodedQueryDepthLimiter(max_depth=limits.max_depth)
    aliases = CodedMaxAliasesLimiter(max_alias_count=limits.max_aliases)
    return (*depth.validation_rules, *aliases.validation_rules)


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
