"""The list envelope and its bounds, shared by REST and GraphQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def fetch_page(
    session: AsyncSession,
    table: Table,
    *,
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    page: PageRequest,
) -> tuple[list[Row[Any]], int]:
    """One page of `table`'s rows and the total matching `where`, in one query.

    The total comes with every row (`count(*) OVER ()`, computed before LIMIT). Only a
    page past the end has no row to carry it: then, and only then, it is counted
    separately, so the total is right on every page.

    Rows are Core rows, read by attribute like the model (`row.name`), without building
    ORM instances or entering them in the session's identity map: for lists that are
    only shown, never changed in the same request.
    """
    total = func.count().over().label("_page_total")
    rows = (
        await session.execute(
            select(*table.columns, total)
            .where(*where)
            .order_by(*order_by)
            .offset(page.offset)
            .limit(page.limit)
        )
    ).all()
    if rows:
        return list(rows), rows[0]._page_total
    if page.offset == 0:
        return [], 0
    counted = await session.execute(select(func.count()).select_from(table).where(*where))
    return [], counted.scalar_one()
