"""The list envelope and its bounds, shared by REST and GraphQL."""

from __future__ import annotations

from dataclasses import dataclass

from torale.errors import FieldError, ValidationFailed

DEFAULT_LIMIT = 20
ADMIN_DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        errors = []
        if self.page < 1:
            errors.append(
                FieldError(
                    ["query", "page"],
                    "Input should be greater than or equal to 1",
                    "greater_than_equal",
                )
            )
        if self.limit < 1:
            errors.append(
                FieldError(
                    ["query", "limit"],
                    "Input should be greater than or equal to 1",
                    "greater_than_equal",
                )
            )
        elif self.limit > MAX_LIMIT:
            errors.append(
                FieldError(
                    ["query", "limit"],
                    f"Input should be less than or equal to {MAX_LIMIT}",
                    "less_than_equal",
                )
            )
        if errors:
            raise ValidationFailed(errors)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit
