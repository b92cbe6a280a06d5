"""The handler of a task's paged lists (notifications, webhook deliveries).

Each router registers it under its own path, operation (`runs(...)`) and `name`, the
name FastAPI makes the OpenAPI operationId from.
"""

from __future__ import annotations

import uuid

from torale.http.deps import Operation, RestContext
from torale.http.params import PageLimit, PageNumber
from torale.http.responses import JSONBody


# No docstring: FastAPI would publish it as the description of every route using it.
async def task_page(
    task_id: uuid.UUID,
    ctx: RestContext,
    op: Operation,
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables = {"task_id": str(task_id), "page": page, "limit": limit}
    return JSONBody(await op.run(ctx, variables))
