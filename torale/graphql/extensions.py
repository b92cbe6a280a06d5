"""Schema extensions for `/graphql`: the unit of work and error masking."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from torale.errors import ToraleError

log = logging.getLogger(__name__)
client_log = logging.getLogger("torale.graphql.client_errors")


class UnitOfWork(SchemaExtension):
    """Commit when the operation produced no error, roll back otherwise."""

    async def on_operation(self) -> Iterator[None]:  # type: ignore[override]
        yield
        context = self.execution_context.context
        result = self.execution_context.result
        failed = bool(self.execution_context.pre_execution_errors) or bool(
            result is not None and result.errors
        )
        await context.finish(succeeded=not failed)


def is_unexpected(error: GraphQLError) -> bool:
    """Domain errors and GraphQL's own (syntax, validation) are shown; the rest is masked."""
    original = error.original_error
    if original is None or isinstance(original, ToraleError | GraphQLError):
        return False
    log.error("unexpected error in GraphQL resolver", exc_info=original)
    return True


def log_client_errors(errors: list[GraphQLError]) -> None:
    """One line per error the client caused (syntax, validation, not found, forbidden...),
    no traceback: they are not our bugs. Unexpected errors are skipped here: masking
    logs each of them once, with its traceback (`is_unexpected`)."""
    for error in errors:
        original = error.original_error
        if original is not None and not isinstance(original, ToraleError | GraphQLError):
            continue
        code = (error.extensions or {}).get("code") or (
            original.code if isinstance(original, ToraleError) else "GRAPHQL_ERROR"
        )
        client_log.info(
            "GraphQL error %s: %s",
            code,
            error.message,
            extra={"code": code, "path": error.path},
        )


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message="Internal server error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL"}
        return masked
