"""Find executions left `pending`/`running` by a workflow that has ended, and fail them.

The workflow marks its own execution failed on every error it sees; what it cannot
see is its own end when it is terminated, times out as a whole, or is cancelled
hard. Those rows are found here by asking Temporal whether their workflow is still
open. Called for one task before a manual run is refused as "already in progress",
by the claim activity before it waits for another run, and for all tasks by
`sweep_stale_executions` (run it from the periodic reconcile pass).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from torale.db import unit_of_work
from torale.errors import Unavailable
from torale.executions.models import Execution, ExecutionStatus
from torale.models_base import utcnow

log = logging.getLogger(__name__)

IN_PROGRESS = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)
WORKFLOW_ENDED_TYPE = "workflow_ended"
_DESCRIBE_DEADLINE = 5.0


def ended_message(status: str) -> str:
    return (
        f"The execution stopped before finishing: its workflow ended ({status.lower()}) "
        "without recording a result"
    )


async def workflow_status(client: Client, workflow_id: str) -> str | None:
    """The workflow's status name while it is open, its final status when closed,
    "not_found" when Temporal has no such workflow. Raises `Unavailable` when Temporal
    cannot be asked."""
    try:
        async with asyncio.timeout(_DESCRIBE_DEADLINE):
            description = await client.get_workflow_handle(workflow_id).describe(
                rpc_timeout=timedelta(seconds=2)
            )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return "not_found"
        raise Unavailable("Scheduler unavailable, nothing was changed") from exc
    except (TimeoutError, OSError) as exc:
        raise Unavailable("Scheduler unavailable, nothing was changed") from exc
    status = description.status
    return status.name if status is not None else None


def is_open(status: str | None) -> bool:
    return status == WorkflowExecutionStatus.RUNNING.name


async def fail_if_workflow_ended(
    session: AsyncSession, client: Client, execution: Execution, *, min_age: timedelta
) -> bool:
    """Mark `execution` failed when its workflow is closed. True if it was."""
    if execution.status not in IN_PROGRESS:
        return False
    if utcnow() - execution.created_at < min_age:
        return False
    if execution.workflow_id is None:
        # Schedule runs record their workflow id when they claim the row, and manual
        # rows get it at creation, so only a row older than any run can lack it.
        status: str | None = "not_found"
    else:
        status = await workflow_status(client, execution.workflow_id)
        if is_open(status):
            return False
    execution.status = ExecutionStatus.FAILED
    execution.error_message = ended_message(status or "unknown")
    execution.error_type = WORKFLOW_ENDED_TYPE
    execution.completed_at = utcnow()
    await session.flush()
    log.warning("execution %s failed: workflow %s", execution.id, status)
    return True


async def in_progress_for_task(
    session: AsyncSession, task_id: uuid.UUID, *, exclude: uuid.UUID | None = None
) -> list[Execution]:
    query = select(Execution).where(
        col(Execution.task_id) == task_id, col(Execution.status).in_(IN_PROGRESS)
    )
    if exclude is not None:
        query = query.where(col(Execution.id) != exclude)
    return list((await session.execute(query.with_for_update())).scalars())


async def sweep_stale_executions(
    factory: async_sessionmaker[AsyncSession],
    client: Client,
    *,
    min_age: timedelta = timedelta(minutes=2),
    batch: int = 500,
) -> int:
    """Fail every in-progress execution whose workflow has ended; the count failed.

    `min_age` leaves alone rows a request or workflow is creating right now.
    """
    failed = 0
    async with unit_of_work(factory) as session:
        rows = (
            await session.execute(
                select(Execution)
                .where(
                    col(Execution.status).in_(IN_PROGRESS),
                    col(Execution.created_at) < utcnow() - min_age,
                )
                .order_by(col(Execution.created_at))
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
        for execution in rows:
            if await fail_if_workflow_ended(session, client, execution, min_age=min_age):
                failed += 1
    return failed
