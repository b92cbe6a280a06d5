"""Reconcile Temporal schedules with the task table (see torale.scheduling.reconciler)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from torale.observability import metrics
from torale.scheduling.reconciler import ReconcileReport, reconcile
from torale.scheduling.scheduler import TaskScheduler
from torale.scheduling.spec import ScheduleSpecForTask
from torale.tasks.models import Task, TaskState


async def desired_schedules(session: AsyncSession) -> list[ScheduleSpecForTask]:
    """Every task that should own a schedule: active ones, and paused ones (paused)."""
    rows = await session.execute(
        select(
            col(Task.id), col(Task.user_id), col(Task.schedule), col(Task.timezone), col(Task.state)
        ).where(col(Task.state) != TaskState.COMPLETED)
    )
    return [
        ScheduleSpecForTask(
            task_id=task_id,
            cron=cron,
            timezone=zone,
            paused=state == TaskState.PAUSED,
            user_id=user_id,
        )
        for task_id, user_id, cron, zone, state in rows
    ]


async def reconcile_tasks(
    factory: async_sessionmaker[AsyncSession],
    scheduler: TaskScheduler,
    *,
    orphan_grace: timedelta = timedelta(minutes=1),
) -> ReconcileReport:
    async with factory() as session:
        desired = await desired_schedules(session)
    report = await reconcile(scheduler, desired, orphan_grace=orphan_grace)
    metrics.observe_repairs(str(fix.kind) for fix in report.fixes)
    return report
