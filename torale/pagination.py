"""The list envelope and its bounds, shared by REST and GraphQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from torale.errors import FieldError, ValidationFailed

DEFAULT_LIMIT = 20
ADMIN_DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# Far beyond any real list, and inside GraphQL's 32-bit Int.
MAX_PAGE = 1_000_000
# The label of the window total added to every paged row.
_TOTAL = "_page_total"


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


async def fetch_page(
    session: AsyncSession, query: Select[Any], page: PageRequest
) -> tuple[list[Row[Any]], int]:
    """One page of `query` (filtered, joined, grouped and ordered by the caller) and the
    total it matches, in one query: the one home of every list's paging.

    The total comes with every row (`count(*) OVER ()`, computed after WHERE and GROUP
    BY, before LIMIT). Only a page past the end has no row to carry it: then, and only
    then, the same query is counted separately, so the total is right on every page.

    Rows are Core rows of the selected columns, read by attribute (`row.name`); for
    column selects nothing enters the session's identity map (lists only shown).
    """
    rows = (
        await session.execute(
            query.add_columns(func.count().over().label(_TOTAL))
            .offset(page.offset)
            .limit(page.limit)
        )
    ).all()
    if rows:
        return list(rows), rows[0]._mapping[_TOTAL]
    if page.offset == 0:
        return [], 0
    counted = await session.execute(
        select(func.count()).select_from(query.order_by(None).subquery())
    )
    return [], counted.scalar_one()


async def fetch_entity_page(
    session: AsyncSession, query: Select[Any], page: PageRequest
) -> tuple[list[Any], int]:
    """`fetch_page` of a `select(Model)`: the ORM instances, for lists whose items are
    the model itself (its properties and relationships, not just its columns)."""
    rows, total = await fetch_page(session, query, page)
    return [row[0] for row in rows], total
