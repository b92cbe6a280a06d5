"""REST for executions and notifications; each handler runs one GraphQL operation.

Included in the app *before* the tasks router: `/api/v1/tasks/preview` and
`/suggest` are literal paths and must never be read as a `{task_id}`.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from torale.http.deps import Operation, RestContext
from torale.http.idempotency import Idempotent
from torale.http.openapi import runs
from torale.http.params import PageLimit, PageNumber
from torale.http.responses import JSONBody

router = APIRouter(prefix="/api/v1", tags=["executions"])


class PreviewIn(BaseModel):
    search_query: str
    condition_description: str
    config: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = Field(
        None, description="Try a task's JSON Schema for the extracted state before saving it"
    )


class SuggestIn(BaseModel):
    prompt: str
    current_task: dict[str, Any] | None = None


@router.post(
    "/tasks/preview",
    **runs("PreviewTask"),
    summary="Search and evaluate once, without saving anything (503 if a provider is down)",
)
async def preview_task(body: PreviewIn, ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx, {"input": body.model_dump()}))


@router.post("/tasks/suggest", **runs("SuggestTask"), summary="Draft a task from a plain request")
async def suggest_task(body: SuggestIn, ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx, {"input": body.model_dump()}))


@router.post(
    "/tasks/{task_id}/execute",
    status_code=202,
    **runs("ExecuteTask"),
    summary="Run a task now (409 while another run of it is in progress)",
    dependencies=[Idempotent],
)
async def execute_task(task_id: uuid.UUID, ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx, {"id": str(task_id)}), status_code=202)


@router.get(
    "/tasks/{task_id}/executions",
    **runs("TaskExecutions"),
    summary="A task's execution history, newest first (owner only)",
)
async def list_executions(
    task_id: uuid.UUID,
    ctx: RestContext,
    op: Operation,
    status: str | None = Query(None, description="pending, running, success or failed"),
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables = {"task_id": str(task_id), "page": page, "limit": limit, "status": status}
    return JSONBody(await op.run(ctx, variables))


@router.get(
    "/tasks/{task_id}/executions/{execution_id}",
    **runs("TaskExecution"),
    summary="One execution (owner only)",
)
async def get_execution(
    task_id: uuid.UUID, execution_id: uuid.UUID, ctx: RestContext, op: Operation
) -> JSONBody:
    variables = {"task_id": str(task_id), "id": str(execution_id)}
    return JSONBody(await op.run(ctx, variables))


@router.get(
    "/tasks/{task_id}/notifications",
    **runs("Notifications"),
    summary="A task's executions whose condition was met, newest first (owner only)",
)
async def task_notifications(
    task_id: uuid.UUID,
    ctx: RestContext,
    op: Operation,
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables = {"task_id": str(task_id), "page": page, "limit": limit}
    return JSONBody(await op.run(ctx, variables))


@router.get(
    "/notifications",
    **runs("Notifications"),
    summary="Condition-met executions across all your tasks, newest first",
)
async def notifications(
    ctx: RestContext,
    op: Operation,
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables = {"task_id": None, "page": page, "limit": limit}
    return JSONBody(await op.run(ctx, variables))
