"""REST for executions and notifications; each handler runs one GraphQL operation.

Included in the app *before* the tasks router: `/api/v1/tasks/preview` and
`/suggest` are literal paths and must never be read as a `{task_id}`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from torale.http.deps import Operations, RestContext
from torale.http.params import PageLimit, PageNumber
from torale.http.responses import JSONBody, PageOut

router = APIRouter(prefix="/api/v1", tags=["executions"])


class ExecutionResultOut(BaseModel):
    answer: str
    reasoning: str
    condition_met: bool
    sources_count: int


class GroundingSourceOut(BaseModel):
    uri: str
    title: str
    snippet: str | None = None


class ExecutionOut(BaseModel):
    id: uuid.UUID
    task_id: uuid.UUID
    status: str = Field(description="pending, running, success or failed")
    trigger: str = Field(description="schedule, manual or immediate")
    started_at: datetime | None
    completed_at: datetime | None
    condition_met: bool | None
    result: ExecutionResultOut | None
    change_summary: str | None
    grounding_sources: list[GroundingSourceOut]
    error_message: str | None
    error_type: str | None
    attempt: int
    notification_sent: bool
    created_at: datetime


class NotificationOut(BaseModel):
    id: uuid.UUID
    task_id: uuid.UUID
    task_name: str
    status: str
    condition_met: bool | None
    answer: str | None
    reasoning: str | None
    change_summary: str | None
    grounding_sources: list[GroundingSourceOut]
    created_at: datetime


class ExecutionStartedOut(BaseModel):
    message: str
    execution_id: uuid.UUID


class PreviewIn(BaseModel):
    search_query: str
    condition_description: str
    config: dict[str, Any] | None = None


class PreviewOut(BaseModel):
    condition_met: bool
    answer: str
    reasoning: str
    grounding_sources: list[GroundingSourceOut]


class SuggestIn(BaseModel):
    prompt: str
    current_task: dict[str, Any] | None = None


class SuggestionOut(BaseModel):
    name: str
    search_query: str
    condition_description: str
    schedule: str
    notify_behavior: str


@router.post(
    "/tasks/preview",
    response_model=PreviewOut,
    summary="Search and evaluate once, without saving anything (503 if a provider is down)",
)
async def preview_task(body: PreviewIn, ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("PreviewTask", ctx, {"input": body.model_dump()})
    return JSONBody(data["preview_task"])


@router.post(
    "/tasks/suggest", response_model=SuggestionOut, summary="Draft a task from a plain request"
)
async def suggest_task(body: SuggestIn, ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("SuggestTask", ctx, {"input": body.model_dump()})
    return JSONBody(data["suggest_task"])


@router.post(
    "/tasks/{task_id}/execute",
    status_code=202,
    response_model=ExecutionStartedOut,
    summary="Run a task now (409 while another run of it is in progress)",
)
async def execute_task(task_id: uuid.UUID, ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("ExecuteTask", ctx, {"id": str(task_id)})
    return JSONBody(data["execute_task"], status_code=202)


@router.get(
    "/tasks/{task_id}/executions",
    response_model=PageOut[ExecutionOut],
    summary="A task's execution history, newest first (owner only)",
)
async def list_executions(
    task_id: uuid.UUID,
    ctx: RestContext,
    ops: Operations,
    status: str | None = Query(None, description="pending, running, success or failed"),
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables = {"task_id": str(task_id), "page": page, "limit": limit, "status": status}
    return JSONBody((await ops.run("TaskExecutions", ctx, variables))["executions"])


@router.get(
    "/tasks/{task_id}/executions/{execution_id}",
    response_model=ExecutionOut,
    summary="One execution (owner only)",
)
async def get_execution(
    task_id: uuid.UUID, execution_id: uuid.UUID, ctx: RestContext, ops: Operations
) -> JSONBody:
    variables = {"task_id": str(task_id), "id": str(execution_id)}
    return JSONBody((await ops.run("TaskExecution", ctx, variables))["execution"])


@router.get(
    "/tasks/{task_id}/notifications",
    response_model=PageOut[NotificationOut],
    summary="A task's executions whose condition was met, newest first (owner only)",
)
async def task_notifications(
    task_id: uuid.UUID,
    ctx: RestContext,
    ops: Operations,
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables = {"task_id": str(task_id), "page": page, "limit": limit}
    return JSONBody((await ops.run("Notifications", ctx, variables))["notifications"])


@router.get(
    "/notifications",
    response_model=PageOut[NotificationOut],
    summary="Condition-met executions across all your tasks, newest first",
)
async def notifications(
    ctx: RestContext,
    ops: Operations,
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables = {"task_id": None, "page": page, "limit": limit}
    return JSONBody((await ops.run("Notifications", ctx, variables))["notifications"])
