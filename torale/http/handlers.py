"""Handlers that several routes share: those whose request is, as is, the variables of
the operation their route runs.

A router registers one under its own path, operation (`runs(...)`) and `name`, the name
FastAPI makes the OpenAPI operationId from:
`router.get("/me", **runs("Me"), summary=..., name="me")(operation_answer)`.
"""

from __future__ import annotations

import uuid

from torale.http.deps import RestCall
from torale.http.direct_routes import served_directly
from torale.http.params import AdminPageLimit, PageLimit, PageNumber
from torale.http.responses import JSONBody

# No docstrings: FastAPI would publish one as the description of every route using it.
# Those of a credential and query parameters only skip FastAPI's dependency solving
# (torale.http.direct_routes).


@served_directly
async def operation_answer(call: RestCall) -> JSONBody:
    return JSONBody(await call.run())


@served_directly
async def operation_page(
    call: RestCall, page: int = PageNumber, limit: int = PageLimit
) -> JSONBody:
    return JSONBody(await call.run({"page": page, "limit": limit}))


@served_directly
async def admin_operation_page(
    call: RestCall, page: int = PageNumber, limit: int = AdminPageLimit
) -> JSONBody:
    return JSONBody(await call.run({"page": page, "limit": limit}))


# A task's paged lists (notifications, webhook deliveries).
async def task_page(
    task_id: uuid.UUID, call: RestCall, page: int = PageNumber, limit: int = PageLimit
) -> JSONBody:
    return JSONBody(await call.run({"task_id": str(task_id), "page": page, "limit": limit}))
