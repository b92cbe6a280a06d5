"""`claim`: create (schedule runs) or claim (manual runs) the execution row, or say the
task is busy or gone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio import activity

from torale.db import unit_of_work
from torale.executions.liveness import fail_if_workflow_ended, in_progress_for_task
from torale.executions.models import Execution, ExecutionStatus, ExecutionTrigger
from torale.models_base import utcnow
from torale.tasks.models import Task, TaskState
from workers.execution_steps import (
    BUSY,
    CLAIMED,
    SKIPPED,
    Claim,
    ClaimInput,
    ExecutionSteps,
    as_application_errors,
    heartbeating,
)


class ClaimStep(ExecutionSteps):
    @activity.defn(name="execution_claim")
    async def claim(self, input: ClaimInput) -> Claim:
        async with heartbeating():
            return await self._claim_activity(input)

    async def _claim_activity(self, input: ClaimInput) -> Claim:
        task_id = uuid.UUID(input.task_id)
        workflow_id = activity.info().workflow_id
        if workflow_id is None:  # the SDK's type allows activities started on their own
            raise RuntimeError("execution_claim runs only inside the execution workflow")
        with as_application_errors():
            if input.execution_id is not None:
                execution_id = uuid.UUID(input.execution_id)
                if not await self._row_visible(execution_id):
                    # Rolled back (the request failed after starting us) or deleted with
                    # its task: there is nothing to run and nothing to record.
                    return self._claim(SKIPPED, None)
            else:
                execution_id = None
            async with unit_of_work(self._sessions) as session:
                return await self._claim_locked(
                    session, task_id, execution_id, input.trigger, workflow_id
                )

    def _claim(self, outcome: str, execution_id: uuid.UUID | None) -> Claim:
        return Claim(
            outcome=outcome,
            execution_id=str(execution_id) if execution_id else None,
            tuning=self._tuning,
        )

    async def _row_visible(self, execution_id: uuid.UUID) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._tuning.row_visible_within_seconds
        while True:
            async with self._sessions() as session:
                if await session.get(Execution, execution_id) is not None:
                    return True
            if loop.time() > deadline:
                return False
            activity.heartbeat()
            await asyncio.sleep(0.1)

    async def _claim_locked(
        self,
        session: AsyncSession,
        task_id: uuid.UUID,
        execution_id: uuid.UUID | None,
        trigger: str,
        workflow_id: str,
    ) -> Claim:
        # The task row lock serialises every claim of one task (and the API's check).
        task = (
            await session.execute(select(Task).where(col(Task.id) == task_id).with_for_update())
        ).scalar_one_or_none()
        if task is None:
            return self._claim(SKIPPED, execution_id)
        mine = await self._own_row(session, task_id, execution_id, workflow_id)
        if mine is not None and mine.status != ExecutionStatus.PENDING:
            # A retry of a claim that committed: running is ours, anything else is over.
            outcome = CLAIMED if mine.status == ExecutionStatus.RUNNING else SKIPPED
            return self._claim(outcome, mine.id)
        for other in await in_progress_for_task(
            session, task_id, exclude=mine.id if mine else None
        ):
            if not await fail_if_workflow_ended(
                session, await self._scheduler.temporal_client(), other, min_age=timedelta(0)
            ):
                # Schedule ticks are skipped like Temporal's overlap policy skips them.
                return self._claim(SKIPPED if mine is None else BUSY, execution_id)
        if mine is None:
            if execution_id is not None:
                return self._claim(SKIPPED, None)
            if task.state != TaskState.ACTIVE:
                # The schedule fired between a pause/complete commit and its Temporal call.
                return self._claim(SKIPPED, None)
            mine = Execution(task_id=task_id, trigger=ExecutionTrigger.SCHEDULE)
            mine.workflow_id = workflow_id
            session.add(mine)
        mine.status = ExecutionStatus.RUNNING
        mine.started_at = utcnow()
        mine.attempt = 1
        await session.flush()
        return self._claim(CLAIMED, mine.id)

    async def _own_row(
        self,
        session: AsyncSession,
        task_id: uuid.UUID,
        execution_id: uuid.UUID | None,
        workflow_id: str,
    ) -> Execution | None:
        if execution_id is not None:
            query = select(Execution).where(col(Execution.id) == execution_id)
        else:
            query = select(Execution).where(
                col(Execution.task_id) == task_id, col(Execution.workflow_id) == workflow_id
            )
        return (await session.execute(query.with_for_update())).scalar_one_or_none()
