"""REST under /api/v1/tasks: each handler runs one GraphQL operation."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from torale.errors import ValidationFailed
from torale.http.deps import Operation, RestContext
from torale.http.idempotency import Idempotent
from torale.http.openapi import runs
from torale.http.params import PageLimit, PageNumber
from torale.http.responses import JSONBody
from torale.input_limits import (
    JSON_MAX_BYTES,
    JSON_MAX_DEPTH,
    NAME_MAX,
    SCHEDULE_MAX,
    TEXT_MAX,
    TEXT_MIN,
)
from torale.tasks import validation as rules
from torale.tasks.transfer import IMPORT_MAX_ITEMS

# The limits, documented in OpenAPI only: the domain checks them (with the same 422 for
# both doors), so the REST models must not refuse first with messages of their own.
_TEXT = {"minLength": TEXT_MIN, "maxLength": TEXT_MAX}
_SCHEDULE = {"maxLength": SCHEDULE_MAX, "description": "5-field cron, e.g. `0 9 * * 1-5`"}
_TIMEZONE = {"description": "IANA time zone name, e.g. `Europe/Paris`"}
_JSON = f"at most {JSON_MAX_DEPTH} levels deep and {JSON_MAX_BYTES} bytes as JSON"
_THRESHOLD = "Consecutive failed executions after which the channels get `task_failing` (1-100)"
_OUTPUT_SCHEMA = (
    f"JSON Schema (an object at the root, no $ref) the extracted `current_state` follows; {_JSON}"
)

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


def _threshold(value: Any) -> Any:
    """The domain's check, here too: GraphQL's Int (32 bits) must never see a number it
    cannot represent, and the message stays the same on both doors."""
    if value is None:
        return value
    try:
        return rules.check_failure_threshold(value)
    except ValidationFailed as exc:
        raise PydanticCustomError("value_error", exc.errors[0].msg) from None


Threshold = Annotated[
    int,
    BeforeValidator(_threshold),
    Field(
        description=_THRESHOLD,
        json_schema_extra={
            "minimum": rules.FAILURE_THRESHOLD_MIN,
            "maximum": rules.FAILURE_THRESHOLD_MAX,
        },
    ),
]


class TaskCreateIn(BaseModel):
    search_query: str = Field(json_schema_extra=_TEXT)
    condition_description: str = Field(json_schema_extra=_TEXT)
    schedule: str = Field(json_schema_extra=_SCHEDULE)
    name: str | None = Field(None, json_schema_extra={"maxLength": NAME_MAX})
    timezone: str = Field("UTC", json_schema_extra=_TIMEZONE)
    notify_behavior: str = "once"
    executor_type: str = "llm_grounded_search"
    config: dict[str, Any] = Field({}, description=f"Executor settings; {_JSON}")
    notifications: list[Any] = Field([], description=f"Channels; {_JSON}")
    is_public: bool = False
    failure_threshold: Threshold = 3
    output_schema: dict[str, Any] | None = Field(None, description=_OUTPUT_SCHEMA)
    run_immediately: bool = False


class TaskUpdateIn(BaseModel):
    """Partial update: only the fields present in the body change."""

    name: str | None = Field(None, json_schema_extra={"maxLength": NAME_MAX})
    search_query: str | None = Field(None, json_schema_extra=_TEXT)
    condition_description: str | None = Field(None, json_schema_extra=_TEXT)
    schedule: str | None = Field(None, json_schema_extra=_SCHEDULE)
    timezone: str | None = Field(None, json_schema_extra=_TIMEZONE)
    notify_behavior: str | None = None
    executor_type: str | None = None
    config: dict[str, Any] | None = Field(None, description=f"Executor settings; {_JSON}")
    notifications: list[Any] | None = Field(None, description=f"Channels; {_JSON}")
    is_public: bool | None = None
    failure_threshold: Threshold | None = None
    output_schema: dict[str, Any] | None = Field(None, description=_OUTPUT_SCHEMA)
    state: str | None = None


class VisibilityIn(BaseModel):
    is_public: bool


class ForkIn(BaseModel):
    name: str | None = None


def _shown(task: dict[str, Any]) -> dict[str, Any]:
    # A task read by someone other than its owner comes without its channels.
    if task.get("notifications") is None:
        task.pop("notifications", None)
    return task


@router.post(
    "",
    status_code=201,
    **runs("CreateTask"),
    summary="Create a task",
    dependencies=[Idempotent],
)
async def create_task(body: TaskCreateIn, ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx, {"input": body.model_dump()}), status_code=201)


@router.get("", **runs("Tasks"), summary="List your tasks")
async def list_tasks(
    ctx: RestContext,
    op: Operation,
    state: str | None = Query(None, description="active, paused or completed"),
    active: bool | None = Query(None, description="true: only active tasks"),
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables = {"page": page, "limit": limit, "state": state, "active": active}
    return JSONBody(await op.run(ctx, variables))


class TaskImportIn(BaseModel):
    tasks: list[Any] = Field(
        description="Task objects as `GET /api/v1/tasks/export` gives them (or as create "
        "takes them, plus `state`); each is validated as create validates it. At most "
        f"{IMPORT_MAX_ITEMS}."
    )
    dry_run: bool = Field(False, description="Report what would happen; write nothing")
    atomic: bool = Field(False, description="Create nothing unless every item is valid")


# Declared before `/{task_id}`: `export` and `import` are not task ids.
@router.get("/export", **runs("ExportTasks"), summary="Export all of your tasks (no secrets)")
async def export_tasks(ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx))


@router.post(
    "/import",
    **runs("ImportTasks"),
    summary="Import tasks; each item reported",
    dependencies=[Idempotent],
)
async def import_tasks(body: TaskImportIn, ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx, {"input": body.model_dump()}))


@router.get("/{task_id}", **runs("Task"), summary="Get a task")
async def get_task(task_id: uuid.UUID, ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(_shown(await op.run(ctx, {"id": str(task_id)})))


@router.put("/{task_id}", **runs("UpdateTask"), summary="Update a task")
async def update_task(
    task_id: uuid.UUID, body: TaskUpdateIn, ctx: RestContext, op: Operation
) -> JSONBody:
    changes = body.model_dump(exclude_unset=True)
    return JSONBody(await op.run(ctx, {"id": str(task_id), "input": changes}))


@router.delete(
    "/{task_id}",
    status_code=204,
    **runs("DeleteTask"),
    summary="Delete a task, its schedule and history",
)
async def delete_task(task_id: uuid.UUID, ctx: RestContext, op: Operation) -> Response:
    await op.run(ctx, {"id": str(task_id)})
    return Response(status_code=204)


@router.patch("/{task_id}/visibility", **runs("SetTaskVisibility"), summary="Share or unshare")
async def set_visibility(
    task_id: uuid.UUID, body: VisibilityIn, ctx: RestContext, op: Operation
) -> JSONBody:
    variables = {"id": str(task_id), "is_public": body.is_public}
    return JSONBody(await op.run(ctx, variables))


@router.post(
    "/{task_id}/fork",
    status_code=201,
    **runs("ForkTask"),
    summary="Fork a task",
    dependencies=[Idempotent],
)
async def fork_task(
    task_id: uuid.UUID, ctx: RestContext, op: Operation, body: ForkIn | None = None
) -> JSONBody:
    variables = {"id": str(task_id), "name": body.name if body else None}
    return JSONBody(await op.run(ctx, variables), status_code=201)
