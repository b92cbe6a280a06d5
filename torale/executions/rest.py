"""REST for executions and notifications; each handler runs one GraphQL operation.

Included in the app *before* the tasks router: `/api/v1/tasks/preview` and
`/suggest` are literal paths and must never be read as a `{task_id}`.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field

from torale.executions.models import ExecutionStatus
from torale.http.bodies import StrictBody, documented
from torale.http.deps import RestCall
from torale.http.handlers import task_page
from torale.http.idempotency import Idempotent
from torale.http.openapi import runs
from torale.http.params import PageLimit, PageNumber
from torale.http.responses import JSONBody
from torale.input_limits import JSON_MAX_BYTES, JSON_MAX_DEPTH
from torale.monitoring.suggest import PROMPT_MAX
from torale.tasks.inputs import TASK_FIELDS, TEXT_SCHEMA
from torale.tasks.service import NOT_AUTHORIZED, TASK_NOT_FOUND

# History and runs are the owner's only.
_OWNED = {403: NOT_AUTHORIZED, 404: TASK_NOT_FOUND}

router = APIRouter(prefix="/api/v1", tags=["executions"])


# The preview's fields are the task's own (torale.tasks.inputs), with its rules.
class PreviewIn(StrictBody):
    search_query: str = Field(json_schema_extra=documented(TEXT_SCHEMA))
    condition_description: str = Field(json_schema_extra=documented(TEXT_SCHEMA))
    config: dict[str, Any] | None = Field(
        None, json_schema_extra=documented(TASK_FIELDS["config"].schema)
    )
    output_schema: dict[str, Any] | None = Field(
        None,
        description="Try a task's JSON Schema for the extracted state before saving it",
        json_schema_extra=documented(TASK_FIELDS["output_schema"].schema),
    )


class SuggestIn(StrictBody):
    prompt: str = Field(
        json_schema_extra=documented({"maxLength": PROMPT_MAX, "pattern": r"\S"}),
        description="What to monitor, in plain words",
    )
    current_task: dict[str, Any] | None = Field(
        None,
        description=f"A draft to refine; at most {JSON_MAX_DEPTH} levels deep and "
        f"{JSON_MAX_BYTES} bytes as JSON",
    )


@router.post(
    "/tasks/preview",
    **runs("PreviewTask"),
    summary="Search and evaluate once, without saving anything (503 if a provider is down)",
)
async def preview_task(body: PreviewIn, call: RestCall) -> JSONBody:
    return JSONBody(await call.run({"input": body.model_dump()}))


@router.post("/tasks/suggest", **runs("SuggestTask"), summary="Draft a task from a plain request")
async def suggest_task(body: SuggestIn, call: RestCall) -> JSONBody:
    return JSONBody(await call.run({"input": body.model_dump()}))


@router.post(
    "/tasks/{task_id}/execute",
    status_code=202,
    **runs("ExecuteTask", {**_OWNED, 409: "Another run of this task is in progress"}),
    summary="Run a task now (409 while another run of it is in progress)",
    dependencies=[Idempotent],
)
async def execute_task(task_id: uuid.UUID, call: RestCall) -> JSONBody:
    return JSONBody(await call.run({"id": str(task_id)}), status_code=202)


@router.get(
    "/tasks/{task_id}/executions",
    **runs("TaskExecutions", _OWNED),
    summary="A task's execution history, newest first (owner only)",
)
async def list_executions(
    task_id: uuid.UUID,
    call: RestCall,
    status: str | None = Query(
        None, json_schema_extra=documented({"enum": [s.value for s in ExecutionStatus]})
    ),
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables = {"task_id": str(task_id), "page": page, "limit": limit, "status": status}
    return JSONBody(await call.run(variables))


@router.get(
    "/tasks/{task_id}/executions/{execution_id}",
    **runs("TaskExecution", {403: NOT_AUTHORIZED, 404: "Task or execution not found"}),
    summary="One execution (owner only)",
)
async def get_execution(task_id: uuid.UUID, execution_id: uuid.UUID, call: RestCall) -> JSONBody:
    variables = {"task_id": str(task_id), "id": str(execution_id)}
    return JSONBody(await call.run(variables))


router.get(
    "/tasks/{task_id}/notifications",
    **runs("Notifications", _OWNED),
    summary="A task's executions whose condition was met, newest first (owner only)",
    name="task_notifications",
)(task_page)


@router.get(
    "/notifications",
    **runs("Notifications"),
    summary="Condition-met executions across all your tasks, newest first",
)
async def notifications(
    call: RestCall,
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables = {"task_id": None, "page": page, "limit": limit}
    return JSONBody(await call.run(variables))
