"""The list envelope and its bounds, shared by REST and GraphQL."""

from __future__ import annotations

import keyword
import weakref
from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from torale.db import engine_for_lone_reads
from torale.driver_reads import DriverStatement, driver_rows
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


class PagedQuery:
    """A list query prepared once, for lists served often (the task list).

    The page bounds are bind parameters and the window total is added once, so every
    request executes the very same statement object: SQLAlchemy builds it, derives its
    cache key and finds its compiled form once, not per request. The caller's own
    values are bind parameters too (`bindparam("owner")`), given to `fetch_page`.

    A query of table columns only (`select(*Model.__table__.columns)`) runs as Core:
    its rows are plain values, and the ORM's execution layer (entity loading, ORM
    events) has nothing to add to them. In a read-only request it goes straight to the
    driver (`torale.driver_reads`), compiled for it once; otherwise on the session's
    connection.
    """

    def __init__(self, query: Select[Any]) -> None:
        self.query = query
        self.core = all(column.get("entity") is None for column in query.column_descriptions)
        self.paged = (
            query.add_columns(func.count().over().label(_TOTAL))
            .offset(bindparam(_OFFSET))
            .limit(bindparam(_LIMIT))
        )
        # Per dialect, per statement: its driver form, None if only SQLAlchemy runs it.
        self._for_driver: weakref.WeakKeyDictionary[Dialect, dict[int, DriverStatement | None]] = (
            weakref.WeakKeyDictionary()
        )

    @cached_property
    def counted(self) -> Select[Any]:
        """The total alone, for a page past the end (no row carries it there)."""
        return select(func.count()).select_from(self.query.order_by(None).subquery())

    def for_driver(self, statement: Select[Any], dialect: Dialect) -> DriverStatement | None:
        forms = self._for_driver.setdefault(dialect, {})
        key = id(statement)  # `paged` or `counted`, both kept alive by this object
        if key not in forms:
            form = DriverStatement.of(statement, dialect)
            if form is not None and statement is self.paged and not _record_class(form.keys[:-1]):
                form = None  # rows no record can hold stay SQLAlchemy's `Row`s
            forms[key] = form
        return forms[key]


_OFFSET, _LIMIT = "_page_offset", "_page_limit"


async def fetch_page(
    session: AsyncSession,
    query: Select[Any] | PagedQuery,
    page: PageRequest,
    params: dict[str, Any] | None = None,
) -> tuple[list[Any], int]:
    """One page of `query` (filtered, joined, grouped and ordered by the caller) and the
    total it matches, in one query: the one home of every list's paging.

    The total comes with every row (`count(*) OVER ()`, computed after WHERE and GROUP
    BY, before LIMIT). Only a page past the end has no row to carry it: then, and only
    then, the same query is counted separately, so the total is right on every page.

    Rows are records of the selected columns (named tuples), read by attribute
    (`row.name`) or position; for column selects nothing enters the session's identity
    map (lists are only shown).
    """
    # Only a query prepared once reads through the driver: compiling one for it per
    # request would cost more than SQLAlchemy's cached execution saves.
    once = isinstance(query, PagedQuery)
    prepared = query if isinstance(query, PagedQuery) else PagedQuery(query)
    bounds = {_OFFSET: page.offset, _LIMIT: page.limit}
    paged = {**(params or {}), **bounds}
    keys, rows = await _execute(session, prepared, prepared.paged, paged, driver=once)
    if rows:
        return _records(rows, keys[:-1]), rows[0][-1]
    if page.offset == 0:
        return [], 0
    _, counted = await _execute(session, prepared, prepared.counted, params or {}, driver=once)
    return [], counted[0][0]


async def _execute(
    session: AsyncSession,
    prepared: PagedQuery,
    statement: Select[Any],
    params: dict[str, Any],
    *,
    driver: bool,
) -> tuple[tuple[str, ...], Sequence[Sequence[Any]]]:
    """The column names and rows of `statement`; `driver`: it may read through the
    driver (in a read-only request)."""
    if not prepared.core:
        result = await session.execute(statement, params)
        return tuple(result.keys()), result.all()
    engine = engine_for_lone_reads(session) if driver else None
    form = prepared.for_driver(statement, engine.dialect) if engine is not None else None
    if engine is not None and form is not None:
        rows = await driver_rows(engine, form, params)
        if rows is not None:
            return form.keys, rows
        # The driver failed: SQLAlchemy runs it again and judges the failure.
    await session.flush()  # what the session's own execute would send first (autoflush)
    connection = await session.connection()
    result = await connection.execute(statement, params)
    return tuple(result.keys()), result.all()


def _records(rows: Sequence[Sequence[Any]], keys: tuple[str, ...]) -> list[Any]:
    """`rows` without their window total, as records.

    A list page reads every column of every row by name; SQLAlchemy's `Row` resolves an
    attribute through its key map (about 1.5 µs), a named tuple's is a C accessor.
    """
    record = _record_class(keys)
    if record is None:  # a column name no named tuple can hold: keep the rows
        return list(rows)
    make = tuple.__new__
    return [make(record, row[:-1]) for row in rows]


@lru_cache(maxsize=64)
def _record_class(keys: tuple[str, ...]) -> type | None:
    # One class per column list (a handful of list queries exist).
    usable = all(
        k.isidentifier() and not keyword.iskeyword(k) and not k.startswith("_") for k in keys
    )
    if not usable or len(set(keys)) != len(keys):
        return None
    return namedtuple("PageRow", keys)


async def fetch_entity_page(
    session: AsyncSession, query: Select[Any], page: PageRequest
) -> tuple[list[Any], int]:
    """`fetch_page` of a `select(Model)`: the ORM instances, for lists whose items are
    the model itself (its properties and relationships, not just its columns)."""
    rows, total = await fetch_page(session, query, page)
    return [row[0] for row in rows], total
