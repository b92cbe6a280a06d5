"""REST under /admin: each handler runs one GraphQL operation (admins only, else 403)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from torale.admin.service import DEFAULT_HOURS, MAX_HOURS, MIN_HOURS
from torale.http.deps import Operations, RestContext
from torale.http.params import AdminPageLimit, PageNumber
from torale.http.responses import JSONBody, PageOut

router = APIRouter(prefix="/admin", tags=["admin"])

Hours = Query(
    DEFAULT_HOURS, ge=MIN_HOURS, le=MAX_HOURS, description="Window, counted back from now"
)


class UserFiguresOut(BaseModel):
    total: int
    active_30d: int
    new_7d: int


class TaskFiguresOut(BaseModel):
    total: int
    active: int
    paused: int
    completed: int


class ExecutionFiguresOut(BaseModel):
    total_24h: int
    success_24h: int
    failed_24h: int
    avg_duration_ms: float | None


class NotificationFiguresOut(BaseModel):
    sent_24h: int
    sent_7d: int


class PopularQueryOut(BaseModel):
    query: str
    count: int


class StatsOut(BaseModel):
    users: UserFiguresOut
    tasks: TaskFiguresOut
    executions: ExecutionFiguresOut
    notifications: NotificationFiguresOut
    popular_queries: list[PopularQueryOut]


class QueryStatsOut(BaseModel):
    search_query: str
    total_tasks: int
    active_tasks: int
    total_executions: int
    success_rate: float | None
    avg_duration_ms: float | None


class AdminExecutionOut(BaseModel):
    id: uuid.UUID
    task_id: uuid.UUID
    task_name: str
    search_query: str
    user_id: uuid.UUID
    user_email: str
    status: str
    trigger: str
    workflow_id: str | None
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: int | None
    condition_met: bool | None
    result: dict[str, Any] | None
    change_summary: str | None
    error_message: str | None
    error_type: str | None
    attempt: int
    notification_sent: bool
    created_at: datetime


class AdminErrorsOut(PageOut[AdminExecutionOut]):
    error_types: dict[str, int]


class AdminUserOut(BaseModel):
    id: uuid.UUID
    email: str
    clerk_user_id: str | None
    role: str
    state: str
    created_at: datetime
    last_login: datetime | None
    deactivated_at: datetime | None
    tasks_count: int
    active_tasks_count: int
    executions_24h: int
    notifications_7d: int


class WorkflowOut(BaseModel):
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: str | None
    start_time: datetime
    close_time: datetime | None
    execution_duration_ms: int | None
    temporal_ui_url: str | None


class ScheduleRunOut(BaseModel):
    workflow_id: str
    run_id: str
    scheduled_at: datetime
    started_at: datetime


class ScheduleOut(BaseModel):
    schedule_id: str
    task_id: uuid.UUID | None
    user_email: str | None
    cron: str | None
    timezone: str
    is_paused: bool
    note: str | None
    recent_executions: list[ScheduleRunOut]
    next_run_time: datetime | None
    temporal_ui_url: str | None


class DeactivatedOut(BaseModel):
    message: str
    user_id: uuid.UUID
    tasks_paused: int


class ActivatedOut(BaseModel):
    message: str
    user_id: uuid.UUID


@router.get("/stats", response_model=StatsOut, summary="Platform figures")
async def stats(ctx: RestContext, ops: Operations) -> JSONBody:
    return JSONBody((await ops.run("AdminStats", ctx))["admin_stats"])


@router.get("/queries", response_model=PageOut[QueryStatsOut], summary="Figures per distinct query")
async def queries(
    ctx: RestContext, ops: Operations, page: int = PageNumber, limit: int = AdminPageLimit
) -> JSONBody:
    data = await ops.run("AdminQueries", ctx, {"page": page, "limit": limit})
    return JSONBody(data["admin_queries"])


@router.get(
    "/executions", response_model=PageOut[AdminExecutionOut], summary="Every user's executions"
)
async def executions(
    ctx: RestContext,
    ops: Operations,
    status: Literal["pending", "running", "success", "failed"] | None = None,
    hours: int = Hours,
    page: int = PageNumber,
    limit: int = AdminPageLimit,
) -> JSONBody:
    variables = {"status": status, "hours": hours, "page": page, "limit": limit}
    data = await ops.run("AdminExecutions", ctx, variables)
    return JSONBody(data["admin_executions"])


@router.get("/errors", response_model=AdminErrorsOut, summary="Failed executions by error type")
async def errors(
    ctx: RestContext,
    ops: Operations,
    hours: int = Hours,
    page: int = PageNumber,
    limit: int = AdminPageLimit,
) -> JSONBody:
    data = await ops.run("AdminErrors", ctx, {"hours": hours, "page": page, "limit": limit})
    return JSONBody(data["admin_errors"])


@router.get("/users", response_model=PageOut[AdminUserOut], summary="Users and their activity")
async def users(
    ctx: RestContext,
    ops: Operations,
    active_only: bool = False,
    page: int = PageNumber,
    limit: int = AdminPageLimit,
) -> JSONBody:
    variables = {"active_only": active_only, "page": page, "limit": limit}
    return JSONBody((await ops.run("AdminUsers", ctx, variables))["admin_users"])


@router.get(
    "/temporal/workflows",
    response_model=PageOut[WorkflowOut],
    summary="Recent workflows, read from Temporal",
)
async def temporal_workflows(
    ctx: RestContext, ops: Operations, page: int = PageNumber, limit: int = AdminPageLimit
) -> JSONBody:
    data = await ops.run("AdminTemporalWorkflows", ctx, {"page": page, "limit": limit})
    return JSONBody(data["admin_temporal_workflows"])


@router.get(
    "/temporal/schedules",
    response_model=PageOut[ScheduleOut],
    summary="Schedules, read from Temporal",
)
async def temporal_schedules(
    ctx: RestContext, ops: Operations, page: int = PageNumber, limit: int = AdminPageLimit
) -> JSONBody:
    data = await ops.run("AdminTemporalSchedules", ctx, {"page": page, "limit": limit})
    return JSONBody(data["admin_temporal_schedules"])


@router.patch(
    "/users/{user_id}/deactivate",
    response_model=DeactivatedOut,
    summary="Block a user: keys revoked, tasks paused, nothing deleted",
    responses={404: {"description": "User not found"}, 409: {"description": "Own account"}},
)
async def deactivate(user_id: uuid.UUID, ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("DeactivateUser", ctx, {"id": str(user_id)})
    return JSONBody(data["deactivate_user"])


@router.patch(
    "/users/{user_id}/activate",
    response_model=ActivatedOut,
    summary="Unblock a user; their tasks stay paused",
    responses={404: {"description": "User not found"}},
)
async def activate(user_id: uuid.UUID, ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("ActivateUser", ctx, {"id": str(user_id)})
    return JSONBody(data["activate_user"])
