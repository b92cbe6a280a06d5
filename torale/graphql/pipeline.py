"""The one execution pipeline behind both doors: REST operations and `/graphql`.

A document is compiled once: parsed (within the token limit), validated with
graphql-core's rules, Strawberry's own and our depth and alias limits, and its string
literals checked. REST operations and persisted operations are compiled at start-up;
any other `/graphql` document is compiled on first sight and kept in a bounded LRU
keyed by its text. Per request only what depends on the request is done:

1. the cost limit, which reads page sizes from the variables (cached per value);
2. the input guard on the variables (NUL, surrogates, lengths, nesting);
3. graphql-core's `execute` with Strawberry's execution context (public API);
4. the unit of work: commit when there was no error, roll back otherwise.

Each door then renders the result its way: REST raises the domain error a resolver
raised (the HTTP layer picks the status), `/graphql` masks unexpected errors and
answers with GraphQL's JSON.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
    visit,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from torale.errors import DatabaseUnavailable, FieldError, ValidationFailed
from torale.graphql.error_codes import PARSE_FAILED, TOO_COMPLEX, VALIDATION_FAILED, set_code
from torale.graphql.guards import (
    TOKEN_LIMIT_MESSAGE,
    cost_errors,
    guard_validation_rules,
    size_variables,
)
from torale.graphql.input_guard import literal_problem, refuse_bad_input
from torale.graphql.limits import DEFAULT_LIMITS, GraphQLLimits

# Strawberry's cheaper awaitable check (most values are plain). It answers exactly
# whether a value is awaitable, the guard graphql-core asks for; Strawberry declares it
# as returning a plain bool.
_is_awaitable = cast(Callable[[Any], TypeGuard[Awaitable[Any]]], optimized_is_awaitable)

# Distinct documents kept compiled; a client sending ever-new text only evicts its own.
DOCUMENT_CACHE_SIZE = 256
# Cost estimates kept per document (one per distinct page size).
_COSTS_PER_DOCUMENT = 32


@dataclass(eq=False)
class CompiledDocument:
    """A document parsed and validated once; what stays per request lives in `run`."""

    text: str
    document: DocumentNode | None
    # Syntax errors, or validation errors with introspection allowed / refused.
    errors: tuple[GraphQLError, ...]
    errors_without_introspection: tuple[GraphQLError, ...]
    literal_problem: str | None
    size_variables: tuple[str, ...] = ()
    _costs: OrderedDict[tuple[Any, ...], list[GraphQLError]] = field(default_factory=OrderedDict)

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        return get_operation_ast(self.document, name) if self.document else None


class LRU(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_fresh(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class Pipeline:
    """Compiles documents against `schema` and runs them; shared by both doors."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        execution_context_class: type | None = None,
        limits: GraphQLLimits = DEFAULT_LIMITS,
        cache_size: int = DOCUMENT_CACHE_SIZE,
    ) -> None:
        self.schema = schema
        self.execution_context_class = execution_context_class
        self.limits = limits
        self._rules = (
            *specified_rules,
            *guard_validation_rules(limits),
            MaybeNullValidationRule,
            OneOfInputValidationRule,
        )
        self._documents = LRU(cache_size)

    # Compiling ------------------------------------------------------------------

    def compile_text(self, text: str) -> CompiledDocument:
        """`text` compiled, from the LRU when it was seen before."""
        compiled = self._documents.get_fresh(text)
        if compiled is None:
            compiled = self._compile(text)
            self._documents.put(text, compiled)
        return compiled

    def compile_document(self, document: DocumentNode, text: str) -> CompiledDocument:
        """An already parsed document (REST operations, persisted operations)."""
        return self._compile(text, document)

    def _compile(self, text: str, document: DocumentNode | None = None) -> CompiledDocument:
        if document is None:
            try:
                document = parse(text, max_tokens=self.limits.max_tokens)
            except GraphQLError as error:
                # The token limit is a guard's refusal, not a syntax error of the client's.
                too_many = TOKEN_LIMIT_MESSAGE in error.message
                set_code(error, TOO_COMPLEX if too_many else PARSE_FAILED)
                return CompiledDocument(text, None, (error,), (error,), None)
        errors = _coded(validate(self.schema, document, self._rules))
        # Only an introspecting document can differ; don't validate others twice.
        without = errors
        if _introspects(document):
            rules = (*self._rules, NoSchemaIntrospectionCustomRule)
            without = _coded(validate(self.schema, document, rules))
        return CompiledDocument(
            text, document, errors, without, literal_problem(document), size_variables(document)
        )

    def _estimate(self, document: DocumentNode, variables: Mapping[str, Any]) -> list[GraphQLError]:
        limits = self.limits
        return cost_errors(
            self.schema,
            document,
            variables,
            max_cost=limits.max_cost,
            default_list_size=limits.default_list_size,
        )

    def _cost_errors(
        self, compiled: CompiledDocument, variables: Mapping[str, Any]
    ) -> list[GraphQLError]:
        assert compiled.document is not None
        key = tuple(variables.get(name) for name in compiled.size_variables)
        try:
            cached = compiled._costs.get(key)
        except TypeError:  # an unhashable page size: estimated, not kept
            return self._estimate(compiled.document, variables)
        if cached is None:
            cached = self._estimate(compiled.document, variables)
            compiled._costs[key] = cached
            while len(compiled._costs) > _COSTS_PER_DOCUMENT:
                compiled._costs.popitem(last=False)
        return cached

    # Running --------------------------------------------------------------------

    def checked(
        self,
        compiled: CompiledDocument,
        variables: Mapping[str, Any] | None,
        *,
        introspection: bool = True,
    ) -> list[GraphQLError]:
        """Every error that refuses the document before execution (cost first, as the
        cost rule reported them when it ran among the validation rules)."""
        if compiled.document is None:
            return list(compiled.errors)
        errors = self._cost_errors(compiled, variables or {})
        known = compiled.errors if introspection else compiled.errors_without_introspection
        return [*errors, *known] if errors else list(known)

    async def run(
        self,
        compiled: CompiledDocument,
        *,
        context: Any,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        root_value: Any = None,
        introspection: bool = True,
        inputs_checked: bool = False,
    ) -> ExecutionResult:
        """Check, execute and finish the unit of work; the result, errors unmasked.

        `inputs_checked`: the caller has refused bad input in `variables` already
        (`refuse_bad_input`: the REST operations do, before translating them), so
        they are not walked a second time.

        Raises what the unit of work raises when committing fails: the caller
        decides how to show it.
        """
        errors = self.checked(compiled, variables, introspection=introspection)
        if errors:
            result = ExecutionResult(data=None, errors=errors)
        else:
            request = _Request(
                compiled, context, variables, operation_name, root_value, inputs_checked
            )
            result = await self._execute(request)
        finish = getattr(context, "finish", None)
        if finish is not None:
            await finish(succeeded=not result.errors)
        return result

    async def _execute(self, request: _Request) -> ExecutionResult:
        compiled, context, variables = request.compiled, request.context, request.variables
        assert compiled.document is not None
        try:
            if not request.inputs_checked:
                refuse_bad_input(variables)
            if compiled.literal_problem:
                raise ValidationFailed([FieldError(["query"], compiled.literal_problem)])
        except ValidationFailed as error:
            return ExecutionResult(
                data=None, errors=[GraphQLError(error.message, original_error=error)]
            )
        operation = compiled.operation(request.operation_name)
        reads_only = operation is not None and operation.operation == OperationType.QUERY
        read_only = getattr(context, "read_only", None) if reads_only else None
        if read_only is None:
            return await self._execute_once(request)
        read_only()
        result = await self._execute_once(request)
        if _database_unavailable(result):
            # Most likely a pooled connection a PostgreSQL restart killed (there is no
            # pre-ping): SQLAlchemy has dropped those, so a read runs once more. If the
            # database is really down, the second attempt fails the same way: 503.
            await context.start_over()
            read_only()
            result = await self._execute_once(request)
        return result

    async def _execute_once(self, request: _Request) -> ExecutionResult:
        compiled, context = request.compiled, request.context
        assert compiled.document is not None
        kwargs: dict[str, Any] = {}
        if self.execution_context_class is not None:
            kwargs["executor_class"] = self.execution_context_class
        await _one_connection_for_parallel_roots(compiled, request.operation_name, context)
        result = execute(
            self.schema,
            compiled.document,
            context_value=context,
            root_value=request.root_value,
            variable_values=request.variables,
            operation_name=request.operation_name,
            is_awaitable=_is_awaitable,
            **kwargs,
        )
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return result


@dataclass(frozen=True, slots=True)
class _Request:
    """What one request executes: built once, handed to each attempt of it."""

    compiled: CompiledDocument
    context: Any
    variables: dict[str, Any] | None
    operation_name: str | None
    root_value: Any
    inputs_checked: bool


def _coded(errors: list[GraphQLError]) -> tuple[GraphQLError, ...]:
    # Guards' rules code their refusals QUERY_TOO_COMPLEX already (set_code keeps it).
    for error in errors:
        set_code(error, VALIDATION_FAILED)
    return tuple(errors)


def _database_unavailable(result: ExecutionResult) -> bool:
    return any(isinstance(e.original_error, DatabaseUnavailable) for e in result.errors or ())


async def _one_connection_for_parallel_roots(
    compiled: CompiledDocument, operation_name: str | None, context: Any
) -> None:
    """Open the request's one connection before root fields run side by side.

    graphql-core runs a query's root fields concurrently. They share one session,
    whose driver connection runs one statement at a time anyway (SQLAlchemy's asyncpg
    adapter serialises them), but two of them racing to *open* that connection make
    SQLAlchemy refuse ("session is provisioning a new connection"). Opening it first
    leaves nothing to race for. Mutations run their root fields in order already.
    """
    session = getattr(context, "session", None)
    operation = compiled.operation(operation_name)
    if session is None or operation is None or operation.operation != OperationType.QUERY:
        return
    if len(operation.selection_set.selections) > 1:
        await session.connection()


def _introspects(document: DocumentNode) -> bool:
    found = False

    class _Find(Visitor):
        def enter_field(self, node: Any, *_: Any) -> Any:
            nonlocal found
            if node.name.value in ("__schema", "__type"):
                found = True
                return Visitor.BREAK
            return None

    visit(document, _Find())
    return found
