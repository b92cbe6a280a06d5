"""Batch loads for DataLoaders: one query for all the keys a GraphQL response needs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.executions.models import Execution
from torale.tasks.models import Task


async def task_names(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[str | None]:
    rows = await session.execute(
        select(col(Task.id), col(Task.name)).where(col(Task.id).in_(set(ids)))
    )
    names = {task_id: name for task_id, name in rows}
    return [names.get(i) for i in ids]


async def executions_by_id(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> list[Execution | None]:
    rows = await session.execute(select(Execution).where(col(Execution.id).in_(set(ids))))
    found = {e.id: e for e in rows.scalars()}
    return [found.get(i) for i in ids]


async def recent_executions(
    session: AsyncSession, keys: Sequence[tuple[uuid.UUID, int]]
) -> list[list[Execution]]:
    """The newest `limit` executions of each task: one windowed query for every key."""
    limit = max(k[1] for k in keys)
    rank = (
        func.row_number()
        .over(
            partition_by=col(Execution.task_id),
            order_by=(col(Execution.created_at).desc(), col(Execution.id)),
        )
        .label("rank")
    )
    ranked = (
        select(col(Execution.id), rank)
        .where(col(Execution.task_id).in_({k[0] for k in keys}))
        .subquery()
    )
    rows = await session.execute(
        select(Execution, ranked.c.rank)
        .join(ranked, ranked.c.id == Execution.id)
        .where(ranked.c.rank <= limit)
        .order_by(col(Execution.task_id), ranked.c.rank)
    )
    by_task: dict[uuid.UUID, list[Execution]] = {}
    for execution, _ in rows:
        by_task.setdefault(execution.task_id, []).append(execution)
    return [by_task.get(task_id, [])[:n] for task_id, n in keys]
