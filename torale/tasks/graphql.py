"""GraphQL for tasks: the task type built from its row, queries and mutations over the
service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Row
from strawberry.scalars import JSON

from torale.executions import service as executions
from torale.graphql.enums import ExecutionTrigger, ExecutorType, NotifyBehavior, TaskState
from torale.graphql.execution_types import ExecutionType
from torale.graphql.types import Info, Page, row_builder
from torale.pagination import DEFAULT_LIMIT, PageRequest
from torale.scheduling.cron import next_run_at
from torale.tasks import public, service
from torale.tasks.graphql_inputs import CreateTaskInput, UpdateTaskInput
from torale.tasks.models import Task


@strawberry.type(name="Task")
class TaskType:
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    search_query: str
    condition_description: str
    schedule: str
    timezone: str
    notify_behavior: NotifyBehavior
    executor_type: ExecutorType
    config: JSON
    state: TaskState
    condition_met: bool
    last_known_state: JSON | None
    last_notified_at: datetime | None
    last_execution_id: uuid.UUID | None
    is_public: bool
    failure_threshold: int
    consecutive_failures: int = strawberry.field(
        description="Failed executions in a row since the last success"
    )
    failing_since: datetime | None = strawberry.field(
        description="Set when `task_failing` went out; cleared by the next success"
    )
    output_schema: JSON | None
    view_count: int
    subscriber_count: int
    forked_from_task_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    state_changed_at: datetime
    # The notification channels, shown to the owner only (`notifications`).
    channels: strawberry.Private[list[dict[str, Any]]]
    # Whether the caller the object was built for owns the task: decided once, so
    # that `notifications` needs nothing but the object (read directly, see
    # torale.graphql.field_plans, instead of through a resolver per task).
    shown_to_owner: strawberry.Private[bool]

    @classmethod
    def of(cls, task: Task | Row[Any], info: Info) -> TaskType:
        """From a `Task` or a row read like one (`service.list_tasks`), for the caller."""
        viewer = info.context.subject_or_none
        owned = viewer is not None and viewer.user_id == task.user_id
        return _build_task(task, task.notifications, owned)

    @strawberry.field(description="Channels; only the owner sees them (null for others)")
    def notifications(self) -> JSON | None:
        return JSON(self.channels) if self.shown_to_owner else None

    @strawberry.field(description="The latest execution; owner only (null for others)")
    async def last_execution(self, info: Info) -> ExecutionType | None:
        if self.last_execution_id is None or not self.shown_to_owner:
            return None
        row = await info.context.loaders.execution.load(self.last_execution_id)
        return ExecutionType.of(row) if row is not None else None

    @strawberry.field(description="The newest executions, up to `limit`; owner only")
    async def recent_executions(self, info: Info, limit: int = 10) -> list[ExecutionType]:
        PageRequest(1, limit)  # the same bounds as any list
        if not self.shown_to_owner:
            return []
        rows = await info.context.loaders.recent_executions.load((self.id, limit))
        return [ExecutionType.of(row) for row in rows]

    @strawberry.field(description="Next scheduled run; null unless the task is active")
    def next_run_at(self) -> datetime | None:
        # Computed from cron and zone exactly as Temporal does (torale.scheduling.cron):
        # a list of tasks never costs a Temporal call per row.
        if self.state != TaskState.ACTIVE:
            return None
        return next_run_at(self.schedule, self.timezone)


# `TaskType.of` for each row: the fields the row does not hold, by position.
_build_task = row_builder(TaskType, "channels", "shown_to_owner")


def _task_page(info: Info, rows: list[Any], total: int, page: int, limit: int) -> Page[TaskType]:
    """`TaskType.of` of each row, with the caller looked up once for the page."""
    viewer = info.context.subject_or_none
    build = _build_task
    if viewer is None:
        items = [build(row, row.notifications, False) for row in rows]
    else:
        viewer_id = viewer.user_id
        items = [build(row, row.notifications, viewer_id == row.user_id) for row in rows]
    return Page(items=items, total=total, page=page, limit=limit)


@strawberry.type
class TaskVisibility:
    id: uuid.UUID
    is_public: bool


def _given(input: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(input).items() if v is not strawberry.UNSET}


def _policy(info: Info) -> service.TaskPolicy:
    settings = info.context.resources.settings
    return service.TaskPolicy(
        min_interval_seconds=settings.min_schedule_interval_seconds,
        allow_private_urls=settings.allow_private_urls,
    )


@strawberry.type
class TaskQuery:
    @strawberry.field(description="The caller's tasks, newest first")
    async def tasks(
        self,
        info: Info,
        page: int = 1,
        limit: int = DEFAULT_LIMIT,
        state: TaskState | None = None,
        active: bool | None = None,
    ) -> Page[TaskType] | None:
        ctx = info.context
        found = await service.list_tasks(
            ctx.session, ctx.subject, PageRequest(page, limit), state=state, active=active
        )
        return _task_page(info, found.items, found.total, page, limit)

    @strawberry.field(
        description="Everyone's public tasks, most forked first; `search` matches the "
        "name, query or condition"
    )
    async def public_tasks(
        self,
        info: Info,
        page: int = 1,
        limit: int = DEFAULT_LIMIT,
        search: str | None = None,
    ) -> Page[TaskType] | None:
        ctx = info.context
        _ = ctx.subject  # signed-in callers only, as for one public task (else 401)
        found = await public.list_public_tasks(ctx.session, PageRequest(page, limit), search=search)
        return _task_page(info, found.items, found.total, page, limit)

    @strawberry.field(description="One task: the caller's own, or anyone's public task")
    async def task(self, info: Info, id: uuid.UUID) -> TaskType | None:
        ctx = info.context
        return TaskType.of(await service.get_task_for_read(ctx.session, ctx.subject, id), info)


@strawberry.type
class TaskMutation:
    @strawberry.mutation
    async def create_task(self, info: Info, input: CreateTaskInput) -> TaskType:
        ctx = info.context
        # null means "the default" here, as it always has for this input.
        values = {k: v for k, v in _given(input).items() if v is not None}
        task = await service.create_task(
            ctx.session, ctx.resources.scheduler, ctx.subject, values, policy=_policy(info)
        )
        if values.get("run_immediately"):
            # Started before the commit: if Temporal refuses, the task is rolled back
            # too (503, nothing created) rather than created without its first run.
            await executions.start_execution(
                ctx.session, ctx.resources.scheduler, task, ExecutionTrigger.IMMEDIATE
            )
        return TaskType.of(task, info)

    @strawberry.mutation
    async def update_task(self, info: Info, id: uuid.UUID, input: UpdateTaskInput) -> TaskType:
        ctx = info.context
        task = await service.update_task(
            ctx.session,
            ctx.resources.scheduler,
            ctx.subject,
            id,
            _given(input),
            policy=_policy(info),
        )
        return TaskType.of(task, info)

    @strawberry.mutation
    async def delete_task(self, info: Info, id: uuid.UUID) -> bool:
        ctx = info.context
        await service.delete_task(ctx.session, ctx.resources.scheduler, ctx.subject, id)
        return True

    @strawberry.mutation
    async def set_task_visibility(
        self, info: Info, id: uuid.UUID, is_public: bool
    ) -> TaskVisibility:
        ctx = info.context
        task = await service.set_visibility(ctx.session, ctx.subject, id, is_public)
        return TaskVisibility(id=task.id, is_public=task.is_public)

    @strawberry.mutation
    async def fork_task(self, info: Info, id: uuid.UUID, name: str | None = None) -> TaskType:
        ctx = info.context
        task = await service.fork_task(ctx.session, ctx.resources.scheduler, ctx.subject, id, name)
        return TaskType.of(task, info)
