"""The list envelope and its bounds, shared by REST and GraphQL."""

from __future__ import annotations

from dataclasses import dataclass

from torale.errors import FieldError, ValidationFailed

DEFAULT_LIMIT = 20
ADMIN_DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# Far beyond any real list, and inside GraphQL's 32-bit Int.
MAX_PAGE = 1_000_000


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        errors = [
            *_bounded("page", self.page, MAX_PAGE),
            *_bounded("limit", self.limit, MAX_LIMIT),
        ]
        if errors:
            raise ValidationFailed(errors)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _bounded(name: str, value: int, maximum: int) -> list[FieldError]:
    """Errors worded as FastAPI words them, so both doors give the same 422."""
    if value < 1:
        return [
            FieldError(
                ["query", name], "Input should be greater than or equal to 1", "greater_than_equal"
            )
        ]
    if value > maximum:
        return [
            FieldError(
                ["query", name],
                f"Input should be less than or equal to {maximum}",
                "less_than_equal",
            )
        ]
    return []
