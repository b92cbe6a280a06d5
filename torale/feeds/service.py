"""What a public task's feed holds: the task and its newest condition-met executions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.errors import NotFound
from torale.executions.models import Execution, ExecutionStatus
from torale.tasks.models import Task
from torale.tasks.service import TASK_NOT_FOUND

# Feed readers poll: the newest entries are what they need, and a page stays small.
FEED_ENTRIES = 20


@dataclass(frozen=True)
class Feed:
    task: Task
    entries: list[Execution]

    @property
    def updated_at(self) -> datetime:
        """When anything the feed shows last changed (Atom `updated`, Last-Modified)."""
        times = [self.task.updated_at] + [entry_time(e) for e in self.entries[:1]]
        return max(times)


def entry_time(execution: Execution) -> datetime:
    return execution.completed_at or execution.created_at


async def public_feed(session: AsyncSession, task_id: uuid.UUID) -> Feed:
    """A private task answers like a missing one: its existence is not disclosed."""
    task = await session.get(Task, task_id)
    if task is None or not task.is_public:
        raise NotFound(TASK_NOT_FOUND)
    rows = await session.execute(
        select(Execution)
        .where(
            col(Execution.task_id) == task_id,
            col(Execution.condition_met).is_(True),
            col(Execution.status) == ExecutionStatus.SUCCESS,
        )
        .order_by(col(Execution.created_at).desc(), col(Execution.id))
        .limit(FEED_ENTRIES)
    )
    return Feed(task=task, entries=list(rows.scalars()))
