"""REST under /admin: each handler runs one GraphQL operation (admins only, else 403)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query

from torale.admin.service import DEFAULT_HOURS, MAX_HOURS, MIN_HOURS
from torale.http.deps import Operation, RestContext
from torale.http.openapi import REVOKING_RESPONSES, runs
from torale.http.params import AdminPageLimit, PageNumber
from torale.http.responses import JSONBody

router = APIRouter(prefix="/admin", tags=["admin"])

Hours = Query(
    DEFAULT_HOURS, ge=MIN_HOURS, le=MAX_HOURS, description="Window, counted back from now"
)


@router.get("/stats", **runs("AdminStats"), summary="Platform figures")
async def stats(ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx))


@router.get("/queries", **runs("AdminQueries"), summary="Figures per distinct query")
async def queries(
    ctx: RestContext, op: Operation, page: int = PageNumber, limit: int = AdminPageLimit
) -> JSONBody:
    return JSONBody(await op.run(ctx, {"page": page, "limit": limit}))


@router.get("/executions", **runs("AdminExecutions"), summary="Every user's executions")
async def executions(
    ctx: RestContext,
    op: Operation,
    status: Literal["pending", "running", "success", "failed"] | None = None,
    hours: int = Hours,
    page: int = PageNumber,
    limit: int = AdminPageLimit,
) -> JSONBody:
    variables = {"status": status, "hours": hours, "page": page, "limit": limit}
    return JSONBody(await op.run(ctx, variables))


@router.get("/errors", **runs("AdminErrors"), summary="Failed executions by error type")
async def errors(
    ctx: RestContext,
    op: Operation,
    hours: int = Hours,
    page: int = PageNumber,
    limit: int = AdminPageLimit,
) -> JSONBody:
    return JSONBody(await op.run(ctx, {"hours": hours, "page": page, "limit": limit}))


@router.get("/users", **runs("AdminUsers"), summary="Users and their activity")
async def users(
    ctx: RestContext,
    op: Operation,
    active_only: bool = False,
    page: int = PageNumber,
    limit: int = AdminPageLimit,
) -> JSONBody:
    variables = {"active_only": active_only, "page": page, "limit": limit}
    return JSONBody(await op.run(ctx, variables))


@router.get(
    "/temporal/workflows",
    **runs("AdminTemporalWorkflows"),
    summary="Recent workflows, read from Temporal",
)
async def temporal_workflows(
    ctx: RestContext, op: Operation, page: int = PageNumber, limit: int = AdminPageLimit
) -> JSONBody:
    return JSONBody(await op.run(ctx, {"page": page, "limit": limit}))


@router.get(
    "/temporal/schedules",
    **runs("AdminTemporalSchedules"),
    summary="Schedules, read from Temporal",
)
async def temporal_schedules(
    ctx: RestContext, op: Operation, page: int = PageNumber, limit: int = AdminPageLimit
) -> JSONBody:
    return JSONBody(await op.run(ctx, {"page": page, "limit": limit}))


@router.patch(
    "/users/{user_id}/deactivate",
    **runs("DeactivateUser"),
    summary="Block a user: keys revoked, tasks paused, nothing deleted",
    responses={
        404: {"description": "User not found"},
        409: {"description": "Own account"},
        **REVOKING_RESPONSES,
    },
)
async def deactivate(user_id: uuid.UUID, ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx, {"id": str(user_id)}))


@router.patch(
    "/users/{user_id}/activate",
    **runs("ActivateUser"),
    summary="Unblock a user; their tasks stay paused",
    responses={404: {"description": "User not found"}, **REVOKING_RESPONSES},
)
async def activate(user_id: uuid.UUID, ctx: RestContext, op: Operation) -> JSONBody:
    return JSONBody(await op.run(ctx, {"id": str(user_id)}))
