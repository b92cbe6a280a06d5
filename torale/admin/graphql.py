"""GraphQL for admins: every field refuses non-admins before looking at its arguments.

List items are built (`from_row`) from the database rows of the admin queries
(SQLAlchemy `Row`s, read by attribute) or the Temporal entries of
`torale.admin.temporal`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import strawberry
from strawberry.scalars import JSON

from torale.admin import deactivation, service
from torale.admin.workflow_status import WorkflowStatus
from torale.graphql.context import ToraleContext
from torale.graphql.enums import (
    ExecutionStatus,
    ExecutionTrigger,
    UserRole,
    UserState,
)
from torale.graphql.types import Info, Page, from_row, page_of
from torale.pagination import ADMIN_DEFAULT_LIMIT, PageRequest

T = TypeVar("T")

if TYPE_CHECKING:
    from torale.admin.temporal import EntryPage, ScheduleEntry, TemporalBrowser

# Temporal's own statuses, not a table's: the admin domain's enum (the others are in
# torale.graphql.enums), registered in place like them.
strawberry.enum(
    WorkflowStatus, name="WorkflowStatus", description="A Temporal workflow run's status"
)


def _admin(info: Info) -> ToraleContext:
    ctx = info.context
    ctx.subject.require_admin()
    return ctx


def _page(type_: type[T], found: service.RowPage | EntryPage, page: int, limit: int) -> Page[T]:
    return page_of(
        lambda row: from_row(type_, row), found.items, total=found.total, page=page, limit=limit
    )


async def _browser(ctx: ToraleContext) -> TemporalBrowser:
    # Imported here: it needs the Temporal SDK, which the API loads on first use.
    from torale.admin.temporal import TemporalBrowser

    res = ctx.resources
    return TemporalBrowser(await res.temporal.client(), res.settings.temporal_ui_url)


@strawberry.type
class UserFigures:
    total: int
    active_30d: int
    new_7d: int


@strawberry.type
class TaskFigures:
    total: int
    active: int
    paused: int
    completed: int


@strawberry.type
class ExecutionFigures:
    total_24h: int
    success_24h: int
    failed_24h: int
    avg_duration_ms: float | None


@strawberry.type
class NotificationFigures:
    sent_24h: int
    sent_7d: int


@strawberry.type(description="Notification deliveries as they stand now")
class DeliveryFigures:
    pending: int = strawberry.field(description="Waiting for their first attempt")
    retrying: int = strawberry.field(description="Attempted, waiting for another attempt")
    failed: int = strawberry.field(description="Given up (no attempts left, or refused)")
    stranded: int = strawberry.field(
        description="Due, with no live message: the sweeper enqueues them again"
    )
    oldest_due_age_seconds: float | None = strawberry.field(
        description="How long the longest-waiting due delivery has been due; null when none"
    )


@strawberry.type
class PopularQuery:
    query: str
    count: int


@strawberry.type(description="Platform figures; windows are counted back from now")
class AdminStats:
    users: UserFigures
    tasks: TaskFigures
    executions: ExecutionFigures
    notifications: NotificationFigures
    popular_queries: list[PopularQuery]
    deliveries: DeliveryFigures


@strawberry.type(description="One distinct search query across all users")
class QueryStats:
    search_query: str
    total_tasks: int
    active_tasks: int
    total_executions: int
    success_rate: float | None = strawberry.field(
        description="Successful over finished (success + failed) executions, 0..1"
    )
    avg_duration_ms: float | None


@strawberry.type(description="An execution of any user's task")
class AdminExecution:
    id: uuid.UUID
    task_id: uuid.UUID
    task_name: str
    search_query: str
    user_id: uuid.UUID
    user_email: str
    status: ExecutionStatus
    trigger: ExecutionTrigger
    workflow_id: str | None
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: int | None
    condition_met: bool | None
    result: JSON | None
    change_summary: str | None
    error_message: str | None
    error_type: str | None
    attempt: int
    notification_sent: bool
    created_at: datetime


@strawberry.type(description="Failed executions of the window, and their count per error type")
class AdminErrors:
    items: list[AdminExecution]
    total: int
    page: int
    limit: int
    error_types: JSON = strawberry.field(
        description='{error_type: count} over the whole window; no stored type is "unknown"'
    )


@strawberry.type
class AdminUser:
    id: uuid.UUID
    email: str
    clerk_user_id: str | None
    role: UserRole
    state: UserState
    created_at: datetime
    last_login: datetime | None
    deactivated_at: datetime | None
    tasks_count: int
    active_tasks_count: int
    executions_24h: int
    notifications_7d: int


@strawberry.type
class TemporalWorkflow:
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: WorkflowStatus | None
    start_time: datetime
    close_time: datetime | None
    execution_duration_ms: int | None = strawberry.field(
        description="As Temporal reports it; null while running"
    )
    temporal_ui_url: str | None


@strawberry.type
class ScheduleRun:
    workflow_id: str
    run_id: str
    scheduled_at: datetime
    started_at: datetime


@strawberry.type
class TemporalSchedule:
    schedule_id: str
    task_id: uuid.UUID | None
    user_email: str | None = strawberry.field(description="Null when no task of ours owns it")
    cron: str | None
    timezone: str
    is_paused: bool
    note: str | None
    recent_executions: list[ScheduleRun] = strawberry.field(description="Newest first")
    next_run_time: datetime | None = strawberry.field(description="Null while paused")
    temporal_ui_url: str | None


def _schedule(entry: ScheduleEntry) -> TemporalSchedule:
    runs = [from_row(ScheduleRun, run) for run in entry.recent_executions]
    return from_row(TemporalSchedule, entry, recent_executions=runs)


@strawberry.type
class UserDeactivated:
    message: str
    user_id: uuid.UUID
    tasks_paused: int


@strawberry.type
class UserActivated:
    message: str
    user_id: uuid.UUID


@strawberry.type
class AdminQuery:
    @strawberry.field(description="Platform-wide figures")
    async def admin_stats(self, info: Info) -> AdminStats | None:
        ctx = _admin(info)
        stats = await service.platform_stats(ctx.session)
        return AdminStats(
            users=UserFigures(**stats["users"]),
            tasks=TaskFigures(**stats["tasks"]),
            executions=ExecutionFigures(**stats["executions"]),
            notifications=NotificationFigures(**stats["notifications"]),
            deliveries=DeliveryFigures(**stats["deliveries"]),
            popular_queries=[PopularQuery(**q) for q in stats["popular_queries"]],
        )

    @strawberry.field(description="Figures per distinct search query, most tasks first")
    async def admin_queries(
        self, info: Info, page: int = 1, limit: int = ADMIN_DEFAULT_LIMIT
    ) -> Page[QueryStats] | None:
        ctx = _admin(info)
        found = await service.query_stats(ctx.session, PageRequest(page, limit))
        return _page(QueryStats, found, page, limit)

    @strawberry.field(description="Every user's executions of the last `hours`, newest first")
    async def admin_executions(
        self,
        info: Info,
        status: ExecutionStatus | None = None,
        hours: int = service.DEFAULT_HOURS,
        page: int = 1,
        limit: int = ADMIN_DEFAULT_LIMIT,
    ) -> Page[AdminExecution] | None:
        ctx = _admin(info)
        found = await service.list_executions(
            ctx.session, PageRequest(page, limit), hours=hours, status=status
        )
        return _page(AdminExecution, found, page, limit)

    @strawberry.field(description="Failed executions of the last `hours`, newest first")
    async def admin_errors(
        self,
        info: Info,
        hours: int = service.DEFAULT_HOURS,
        page: int = 1,
        limit: int = ADMIN_DEFAULT_LIMIT,
    ) -> AdminErrors | None:
        ctx = _admin(info)
        found = await service.list_executions(
            ctx.session, PageRequest(page, limit), hours=hours, status="failed"
        )
        types = await service.error_types(ctx.session, hours=hours)
        return AdminErrors(
            items=[from_row(AdminExecution, row) for row in found.items],
            total=found.total,
            page=page,
            limit=limit,
            error_types=JSON(types),
        )

    @strawberry.field(description="Users with their activity, newest first")
    async def admin_users(
        self,
        info: Info,
        active_only: bool = False,
        page: int = 1,
        limit: int = ADMIN_DEFAULT_LIMIT,
    ) -> Page[AdminUser] | None:
        ctx = _admin(info)
        found = await service.list_users(
            ctx.session, PageRequest(page, limit), active_only=active_only
        )
        return _page(AdminUser, found, page, limit)

    @strawberry.field(description="Recent workflows, read from Temporal")
    async def admin_temporal_workflows(
        self, info: Info, page: int = 1, limit: int = ADMIN_DEFAULT_LIMIT
    ) -> Page[TemporalWorkflow] | None:
        ctx = _admin(info)
        browser = await _browser(ctx)
        found = await browser.workflows(PageRequest(page, limit))
        return _page(TemporalWorkflow, found, page, limit)

    @strawberry.field(description="Schedules, read from Temporal, with the owning task's user")
    async def admin_temporal_schedules(
        self, info: Info, page: int = 1, limit: int = ADMIN_DEFAULT_LIMIT
    ) -> Page[TemporalSchedule] | None:
        ctx = _admin(info)
        browser = await _browser(ctx)
        found = await browser.schedules(ctx.session, PageRequest(page, limit))
        return page_of(_schedule, found.items, total=found.total, page=page, limit=limit)


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description="Block a user: keys revoked, active tasks and schedules paused, nothing deleted"
    )
    async def deactivate_user(self, info: Info, id: uuid.UUID) -> UserDeactivated:
        ctx = _admin(info)
        # Before any schedule is paused: without a reachable auth cache, change nothing.
        await ctx.fence_identity_change()
        done = await deactivation.deactivate_user(
            ctx.session, ctx.resources.scheduler, ctx.subject, id
        )
        return UserDeactivated(
            message="User deactivated successfully",
            user_id=done.user_id,
            tasks_paused=done.tasks_paused,
        )

    @strawberry.mutation(description="Unblock a user; their tasks stay paused")
    async def activate_user(self, info: Info, id: uuid.UUID) -> UserActivated:
        ctx = _admin(info)
        user_id = await deactivation.activate_user(ctx.session, id)
        return UserActivated(message="User activated successfully", user_id=user_id)
