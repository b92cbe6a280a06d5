"""Error masking for `/graphql`: domain and GraphQL errors are shown, the rest is not."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from torale.errors import ToraleError

log = logging.getLogger(__name__)


def is_unexpected(error: GraphQLError) -> bool:
    """Domain errors and GraphQL's own (syntax, validation) are shown; the rest is masked."""
    original = error.original_error
    if original is None or isinstance(original, ToraleError | GraphQLError):
        return False
    log.error("unexpected error in GraphQL resolver", exc_info=original)
    return True


class MaskUnexpectedErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message="Internal server error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL"}
        return masked
