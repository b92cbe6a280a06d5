"""Find and repair drift between the tasks that should be scheduled and Temporal.

`desired` is every task that should have a schedule (active or paused). One paged
listing of `task-*` schedules is compared with it; each difference is fixed with
the scheduler's idempotent operations, so two reconcilers running at once (two
workers, a worker and `torale reconcile`) only repeat each other's harmless work:
a create that finds the schedule made becomes an update, a delete that finds it
gone is a no-op.

Races with the API are covered by order and grace: the API creates a schedule
*before* committing its task row, so a schedule younger than `orphan_grace` whose
task is not (yet) in `desired` is left alone rather than deleted as an orphan. The
other races (a cron change or delete committed while we ran) are undone by the
next pass at worst, since every pass converges on the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from uuid import UUID

from temporalio.client import ScheduleListDescription

from torale.errors import Unavailable
from torale.scheduling.constants import task_id_from_schedule_id
from torale.scheduling.scheduler import TaskScheduler
from torale.scheduling.spec import ScheduleSpecForTask

_CONCURRENCY = 16

Repair = Callable[[], Awaitable[bool]]


class FixKind(StrEnum):
    CREATED = "created"  # a task had no schedule
    DELETED = "deleted"  # a schedule had no task
    UPDATED = "updated"  # wrong cron, time zone or action
    PAUSED = "paused"  # ran although its task is paused
    UNPAUSED = "unpaused"  # paused although its task is active


@dataclass(frozen=True)
class Fix:
    kind: FixKind
    task_id: UUID
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:<8} task-{self.task_id}: {self.detail}"


@dataclass
class ReconcileReport:
    fixes: list[Fix] = field(default_factory=list)
    checked: int = 0

    def __str__(self) -> str:
        if not self.fixes:
            return f"{self.checked} schedules checked, no drift"
        return "\n".join(str(f) for f in self.fixes)


async def reconcile(
    scheduler: TaskScheduler,
    desired: list[ScheduleSpecForTask],
    *,
    orphan_grace: timedelta = timedelta(minutes=1),
) -> ReconcileReport:
    wanted: dict[UUID, ScheduleSpecForTask] = {}
    for spec in desired:
        if spec.task_id in wanted:
            raise ValueError(f"Task {spec.task_id} is listed twice")
        wanted[spec.task_id] = spec

    actual: dict[UUID, ScheduleListDescription] = {}
    for entry in await scheduler.list_task_schedules():
        task_id = task_id_from_schedule_id(entry.id)
        if task_id is not None:
            actual[task_id] = entry

    report = ReconcileReport(checked=len(wanted.keys() | actual.keys()))
    repairs = [
        repair
        for task_id, spec in wanted.items()
        if (repair := _repair_for(scheduler, spec, actual.get(task_id))) is not None
    ]
    orphans = actual.keys() - wanted.keys()
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def apply(fix: Fix, action: Repair) -> None:
        async with limit:
            # False: someone else (a concurrent pass, the API) got there first.
            if await action():
                report.fixes.append(fix)

    try:
        async with asyncio.TaskGroup() as group:
            for fix, action in repairs:
                group.create_task(apply(fix, action))
            for task_id in orphans:
                group.create_task(_delete_orphan(scheduler, task_id, orphan_grace, report, limit))
    except ExceptionGroup as failures:
        # Surface the scheduler's own error, not asyncio's wrapper; fixes already
        # made stay made, the next pass does the rest.
        if failures.subgroup(Unavailable) is None:
            raise
        raise Unavailable("Scheduler unavailable, reconcile incomplete") from failures

    report.fixes.sort(key=lambda f: (f.kind, str(f.task_id)))
    return report


def _repair_for(
    scheduler: TaskScheduler, spec: ScheduleSpecForTask, entry: ScheduleListDescription | None
) -> tuple[Fix, Repair] | None:
    if entry is None:
        detail = f"missing schedule created ({_describe(spec)})"
        return Fix(FixKind.CREATED, spec.task_id, detail), partial(scheduler.create, spec)
    listed = entry.schedule
    if listed is None or not spec.spec_matches(listed.spec):
        detail = f"schedule was {_describe_listed(entry)}, now {_describe(spec)}"
        return Fix(FixKind.UPDATED, spec.task_id, detail), partial(scheduler.update, spec)
    if listed.state.paused and not spec.paused:
        fix = Fix(FixKind.UNPAUSED, spec.task_id, "task is active")
        return fix, partial(scheduler.unpause, spec.task_id)
    if not listed.state.paused and spec.paused:
        fix = Fix(FixKind.PAUSED, spec.task_id, "task is paused")
        return fix, partial(scheduler.pause, spec.task_id)
    return None


async def _delete_orphan(
    scheduler: TaskScheduler,
    task_id: UUID,
    grace: timedelta,
    report: ReconcileReport,
    limit: asyncio.Semaphore,
) -> None:
    async with limit:
        info = await scheduler.describe(task_id)
        if info is None:
            return  # deleted meanwhile (another reconciler, the API)
        if datetime.now(UTC) - info.created_at < grace:
            return  # probably the API's create whose task row is not committed yet
        if await scheduler.delete(task_id):
            report.fixes.append(Fix(FixKind.DELETED, task_id, "schedule without a task deleted"))


def _describe(spec: ScheduleSpecForTask) -> str:
    state = "paused" if spec.paused else "active"
    return f"cron '{spec.cron_normalized}' in {spec.timezone}, {state}"


def _describe_listed(entry: ScheduleListDescription) -> str:
    if entry.schedule is None:
        return "unreadable"
    calendars = entry.schedule.spec.calendars
    ours = len(calendars) == 1 and calendars[0].comment
    what = f"cron '{calendars[0].comment}'" if ours else "a spec not written by torale"
    return f"{what} in {entry.schedule.spec.time_zone_name or 'UTC'}"
