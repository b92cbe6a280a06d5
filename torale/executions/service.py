"""Executions as the API sees them: start a run, read the history and notifications.

Starting a run creates the `pending` row and starts its workflow *before* the
request commits: if Temporal refuses, the row is rolled back and the client gets 503
with nothing changed. The workflow's first activity waits briefly for the row to
become visible, which covers the few milliseconds until the commit.

One run at a time per task: the task row is locked (FOR UPDATE) while we look for a
run in progress, so two concurrent requests cannot both pass the check; a run in
progress whose workflow has in fact ended is failed on the spot instead of blocking
the task forever. The remaining race (a schedule firing between our check and our
start) is handled in the workflow, which waits for the other run to finish.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.auth.subject import Subject
from torale.errors import Conflict, NotFound, ValidationFailed
from torale.executions.models import Execution, ExecutionStatus, ExecutionTrigger
from torale.pagination import PageRequest, fetch_entity_page
from torale.scheduling.constants import execution_workflow_id
from torale.tasks.models import Task
from torale.tasks.service import get_owned_task, get_task_for_write

if TYPE_CHECKING:
    from torale.scheduling.scheduler import TaskScheduler

EXECUTION_NOT_FOUND = "Execution not found"
EXECUTION_INITIATED = "Task execution initiated"
ALREADY_RUNNING = "An execution of this task is already in progress"


@dataclass(frozen=True, slots=True)
class ExecutionPage:
    items: list[Execution]
    total: int


async def start_execution(
    session: AsyncSession, scheduler: TaskScheduler, task: Task, trigger: ExecutionTrigger
) -> Execution:
    """Create the pending row and start its workflow; the caller holds the task lock."""
    # Imported here: it needs the Temporal SDK, which the API loads on first use.
    from torale.executions.liveness import fail_if_workflow_ended, in_progress_for_task

    for running in await in_progress_for_task(session, task.id):
        if not await fail_if_workflow_ended(
            session, await scheduler.temporal_client(), running, min_age=timedelta(0)
        ):
            raise Conflict(ALREADY_RUNNING)
    execution = Execution(task_id=task.id, trigger=trigger, status=ExecutionStatus.PENDING)
    execution.workflow_id = execution_workflow_id(execution.id)
    session.add(execution)
    await session.flush()
    await scheduler.start_execution(task.id, execution.id)
    return execution


async def execute_task(
    session: AsyncSession, scheduler: TaskScheduler, owner: Subject, task_id: uuid.UUID
) -> Execution:
    """A manual run now, whatever the task's state (which it does not change)."""
    task = await get_task_for_write(session, owner, task_id)
    return await start_execution(session, scheduler, task, ExecutionTrigger.MANUAL)


async def _owned_task(session: AsyncSession, owner: Subject, task_id: uuid.UUID) -> Task:
    # History and notifications are the owner's only: a public task shares its
    # definition, not what it found or when it alerted its owner.
    return await get_owned_task(session, owner, task_id)


def check_status(status: str | None) -> ExecutionStatus | None:
    if status is None:
        return None
    try:
        return ExecutionStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in ExecutionStatus)
        raise ValidationFailed.field(["query", "status"], f"Must be one of: {allowed}") from None


async def _page(
    session: AsyncSession, conditions: list[ColumnElement[bool]], page: PageRequest
) -> ExecutionPage:
    items, total = await fetch_entity_page(
        session,
        select(Execution)
        .where(*conditions)
        .order_by(
            col(Execution.created_at).desc(),
            col(Execution.id),
        ),
        page,
    )
    return ExecutionPage(items=items, total=total)


async def list_executions(
    session: AsyncSession,
    owner: Subject,
    task_id: uuid.UUID,
    page: PageRequest,
    *,
    status: str | None = None,
) -> ExecutionPage:
    wanted = check_status(status)
    await _owned_task(session, owner, task_id)
    conditions: list[ColumnElement[bool]] = [col(Execution.task_id) == task_id]
    if wanted is not None:
        conditions.append(col(Execution.status) == wanted)
    return await _page(session, conditions, page)


async def get_execution(
    session: AsyncSession, owner: Subject, task_id: uuid.UUID, execution_id: uuid.UUID
) -> Execution:
    await _owned_task(session, owner, task_id)
    execution = await session.get(Execution, execution_id)
    if execution is None or execution.task_id != task_id:
        raise NotFound(EXECUTION_NOT_FOUND)
    return execution


async def list_notifications(
    session: AsyncSession, owner: Subject, page: PageRequest, *, task_id: uuid.UUID | None = None
) -> ExecutionPage:
    """Executions whose condition was met: of one task, or of all the caller's tasks."""
    conditions: list[ColumnElement[bool]] = [col(Execution.condition_met).is_(True)]
    if task_id is not None:
        await _owned_task(session, owner, task_id)
        conditions.append(col(Execution.task_id) == task_id)
    else:
        owned = select(col(Task.id)).where(col(Task.user_id) == owner.user_id)
        conditions.append(col(Execution.task_id).in_(owned))
    return await _page(session, conditions, page)
