"""A Strawberry schema whose `execute` runs the shared pipeline: `/graphql`'s door.

Strawberry's router, its request parsing, batching and response rendering stay as
they are; only `Schema.execute` (Strawberry's public entry point, which the router
calls) is ours. It compiles the document through the pipeline's caches, or takes a
persisted one by hash, checks the operation type the HTTP method allows, runs the
pipeline, logs errors through Strawberry's `process_errors` and masks unexpected
ones. REST runs the very same `Pipeline.run` (see `executor.OperationRegistry`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from torale.graphql.error_codes import BAD_USER_INPUT, set_code
from torale.graphql.extensions import MaskUnexpectedErrors
from torale.graphql.guards import batching_config
from torale.graphql.introspection import introspection_enabled
from torale.graphql.limits import DEFAULT_LIMITS, GraphQLLimits
from torale.graphql.persisted import (
    PersistedDocument,
    hash_mismatch,
    not_found,
    persisted_documents,
    requested_hash,
)
from torale.graphql.pipeline import CompiledDocument, Pipeline

_DEFAULT_ALLOWED = frozenset({OperationType.QUERY, OperationType.MUTATION})


class PipelineSchema(strawberry.Schema):
    def __init__(
        self,
        query: type,
        *,
        persisted: Iterable[PersistedDocument] | None = None,
        limits: GraphQLLimits = DEFAULT_LIMITS,
        config: StrawberryConfig | None = None,
        **kwargs: Any,
    ) -> None:
        config = config or StrawberryConfig()
        # The batch cap is Strawberry's (its router reads it off the schema's config).
        config.batching_config = batching_config(limits)
        super().__init__(query, config=config, **kwargs)
        self.pipeline = Pipeline(
            self._schema, execution_context_class=self.execution_context_class, limits=limits
        )
        self._mask = MaskUnexpectedErrors()
        self.persisted: dict[str, CompiledDocument] = {}
        for document in persisted_documents() if persisted is None else persisted:
            compiled = self.pipeline.compile_text(document.text)
            if compiled.errors:
                raise ValueError(f"persisted {document.name}: {compiled.errors[0].message}")
            self.persisted[document.sha256] = compiled

    def _compiled(self, query: str | None, extensions: Any) -> CompiledDocument | GraphQLError:
        sha = requested_hash(extensions)
        if sha is None:
            if not query:
                raise MissingQueryError
            return self.pipeline.compile_text(query)
        compiled = self.persisted.get(sha)
        if compiled is None:
            return not_found()
        if query and query != compiled.text:
            return hash_mismatch()
        return compiled

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        allowed = _DEFAULT_ALLOWED if allowed_operation_types is None else allowed_operation_types
        compiled = self._compiled(query, operation_extensions)
        if isinstance(compiled, GraphQLError):
            return ExecutionResult(data=None, errors=[compiled])
        if compiled.document is not None:
            operation = compiled.operation(operation_name)
            if operation is None:
                raise CannotGetOperationTypeError(operation_name)
            operation_type = OperationType(operation.operation.value)
            if operation_type not in allowed:
                raise InvalidOperationTypeError(operation_type)
        try:
            result = await self.pipeline.run(
                compiled,
                context=context_value,
                variables=variable_values,
                operation_name=operation_name,
                root_value=root_value,
                introspection=_introspection_allowed(context_value),
            )
            data, errors = result.data, result.errors
        except Exception as exc:  # the unit of work could not commit
            data = None
            error = exc if isinstance(exc, GraphQLError) else None
            errors = [error or GraphQLError(str(exc), original_error=exc)]
        if not errors:
            return ExecutionResult(data=data, errors=None)
        self.process_errors(errors)  # logged as they are, before masking
        mask = self._mask
        shown = [mask.anonymise_error(e) if mask.should_mask_error(e) else e for e in errors]
        for error in shown:
            # Every error leaves with a code (torale.graphql.error_codes). Parse and
            # validation errors got theirs when compiled, domain errors bring their own;
            # what is left is a value that did not coerce to its type.
            set_code(error, BAD_USER_INPUT)
        return ExecutionResult(data=data, errors=shown)


def _introspection_allowed(context: Any) -> bool:
    """Off where the settings say so; without a ToraleContext (the schema run directly,
    as the export does) there is no HTTP caller, and introspection stays on."""
    settings = getattr(getattr(context, "resources", None), "settings", None)
    return settings is None or introspection_enabled(settings)
