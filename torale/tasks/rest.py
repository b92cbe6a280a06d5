"""REST under /api/v1/tasks: each handler runs one GraphQL operation."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from torale.http.bodies import StrictBody, documented
from torale.http.deps import RestCall
from torale.http.direct_routes import served_directly
from torale.http.handlers import operation_answer
from torale.http.idempotency import Idempotent, creates
from torale.http.openapi import runs
from torale.http.params import PageLimit, PageNumber
from torale.http.responses import JSONBody
from torale.tasks.inputs import ForkBody, TaskCreateBody, TaskUpdateBody, VisibilityBody
from torale.tasks.models import TaskState
from torale.tasks.service import NOT_AUTHORIZED, TASK_NOT_FOUND
from torale.tasks.transfer import IMPORT_MAX_ITEMS

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

# Reads of someone else's private task and writes to anyone else's task are 403.
_OWNED = {403: NOT_AUTHORIZED, 404: TASK_NOT_FOUND}


def _shown(task: dict[str, Any]) -> dict[str, Any]:
    # A task read by someone other than its owner comes without its channels.
    if task.get("notifications") is None:
        task.pop("notifications", None)
    return task


@router.post("", **creates("CreateTask"), summary="Create a task")
async def create_task(body: TaskCreateBody, call: RestCall) -> JSONBody:
    return JSONBody(await call.run({"input": body.model_dump()}), status_code=201)


@router.get("", **runs("Tasks"), summary="List your tasks")
@served_directly
async def list_tasks(
    call: RestCall,
    state: str | None = Query(
        None, json_schema_extra=documented({"enum": [s.value for s in TaskState]})
    ),
    active: bool | None = Query(None, description="true: only active tasks"),
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables = {"page": page, "limit": limit, "state": state, "active": active}
    return JSONBody(await call.run(variables))


class TaskImportIn(StrictBody):
    tasks: list[Any] = Field(
        description="Task objects as `GET /api/v1/tasks/export` gives them (or as create "
        "takes them, plus `state`); each is validated as create validates it. At most "
        f"{IMPORT_MAX_ITEMS}."
    )
    dry_run: bool = Field(False, description="Report what would happen; write nothing")
    atomic: bool = Field(False, description="Create nothing unless every item is valid")
    # An export document is itself a valid body: its header fields are accepted, unused.
    version: int | None = Field(None, description="From an export document; ignored")
    exported_at: str | None = Field(None, description="From an export document; ignored")


# Declared before `/{task_id}`: `export` and `import` are not task ids.
router.get(
    "/export",
    **runs("ExportTasks"),
    summary="Export all of your tasks (no secrets)",
    name="export_tasks",
)(operation_answer)


@router.post(
    "/import",
    **runs("ImportTasks"),
    summary="Import tasks; each item reported",
    dependencies=[Idempotent],
)
async def import_tasks(body: TaskImportIn, call: RestCall) -> JSONBody:
    return JSONBody(await call.run({"input": body.model_dump(exclude={"version", "exported_at"})}))


@router.get("/{task_id}", **runs("Task", _OWNED), summary="Get a task")
async def get_task(task_id: uuid.UUID, call: RestCall) -> JSONBody:
    return JSONBody(_shown(await call.run({"id": str(task_id)})))


@router.put(
    "/{task_id}",
    **runs("UpdateTask", {**_OWNED, 409: "Illegal state transition"}),
    summary="Update a task",
)
async def update_task(task_id: uuid.UUID, body: TaskUpdateBody, call: RestCall) -> JSONBody:
    changes = body.model_dump(exclude_unset=True)
    return JSONBody(await call.run({"id": str(task_id), "input": changes}))


@router.delete(
    "/{task_id}",
    status_code=204,
    **runs("DeleteTask", _OWNED),
    summary="Delete a task, its schedule and history",
)
async def delete_task(task_id: uuid.UUID, call: RestCall) -> Response:
    await call.run({"id": str(task_id)})
    return Response(status_code=204)


@router.patch(
    "/{task_id}/visibility", **runs("SetTaskVisibility", _OWNED), summary="Share or unshare"
)
async def set_visibility(task_id: uuid.UUID, body: VisibilityBody, call: RestCall) -> JSONBody:
    variables = {"id": str(task_id), "is_public": body.is_public}
    return JSONBody(await call.run(variables))


@router.post("/{task_id}/fork", **creates("ForkTask", _OWNED), summary="Fork a task")
async def fork_task(task_id: uuid.UUID, call: RestCall, body: ForkBody | None = None) -> JSONBody:
    variables = {"id": str(task_id), "name": body.name if body else None}
    return JSONBody(await call.run(variables), status_code=201)
