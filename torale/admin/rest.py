"""REST under /admin: each handler runs one GraphQL operation (admins only, else 403)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query

from torale.admin.service import DEFAULT_HOURS, MAX_HOURS, MIN_HOURS
from torale.auth.subject import ADMIN_REQUIRED
from torale.http.deps import RestCall
from torale.http.handlers import admin_operation_page, operation_answer
from torale.http.openapi import REVOKING, runs
from torale.http.params import AdminPageLimit, PageNumber
from torale.http.responses import JSONBody

router = APIRouter(prefix="/admin", tags=["admin"])

_ADMIN = {403: ADMIN_REQUIRED}

Hours = Query(
    DEFAULT_HOURS, ge=MIN_HOURS, le=MAX_HOURS, description="Window, counted back from now"
)


router.get("/stats", **runs("AdminStats", _ADMIN), summary="Platform figures", name="stats")(
    operation_answer
)
router.get(
    "/queries",
    **runs("AdminQueries", _ADMIN),
    summary="Figures per distinct query",
    name="queries",
)(admin_operation_page)


@router.get("/executions", **runs("AdminExecutions", _ADMIN), summary="Every user's executions")
async def executions(
    call: RestCall,
    status: Literal["pending", "running", "success", "failed"] | None = None,
    hours: int = Hours,
    page: int = PageNumber,
    limit: int = AdminPageLimit,
) -> JSONBody:
    variables = {"status": status, "hours": hours, "page": page, "limit": limit}
    return JSONBody(await call.run(variables))


@router.get("/errors", **runs("AdminErrors", _ADMIN), summary="Failed executions by error type")
async def errors(
    call: RestCall,
    hours: int = Hours,
    page: int = PageNumber,
    limit: int = AdminPageLimit,
) -> JSONBody:
    return JSONBody(await call.run({"hours": hours, "page": page, "limit": limit}))


@router.get("/users", **runs("AdminUsers", _ADMIN), summary="Users and their activity")
async def users(
    call: RestCall,
    active_only: bool = False,
    page: int = PageNumber,
    limit: int = AdminPageLimit,
) -> JSONBody:
    variables = {"active_only": active_only, "page": page, "limit": limit}
    return JSONBody(await call.run(variables))


router.get(
    "/temporal/workflows",
    **runs("AdminTemporalWorkflows", _ADMIN),
    summary="Recent workflows, read from Temporal",
    name="temporal_workflows",
)(admin_operation_page)
router.get(
    "/temporal/schedules",
    **runs("AdminTemporalSchedules", _ADMIN),
    summary="Schedules, read from Temporal",
    name="temporal_schedules",
)(admin_operation_page)


@router.patch(
    "/users/{user_id}/deactivate",
    **runs(
        "DeactivateUser",
        {**_ADMIN, 404: "User not found", 409: "Own account", 503: REVOKING},
    ),
    summary="Block a user: keys revoked, tasks paused, nothing deleted",
)
async def deactivate(user_id: uuid.UUID, call: RestCall) -> JSONBody:
    return JSONBody(await call.run({"id": str(user_id)}))


@router.patch(
    "/users/{user_id}/activate",
    **runs("ActivateUser", {**_ADMIN, 404: "User not found", 503: REVOKING}),
    summary="Unblock a user; their tasks stay paused",
)
async def activate(user_id: uuid.UUID, call: RestCall) -> JSONBody:
    return JSONBody(await call.run({"id": str(user_id)}))
