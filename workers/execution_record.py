"""The steps that record an outcome: `persist` writes a success to the execution and
the task in one transaction (and completes a `once` task, deleting its schedule);
`mark_failed` records the final failure once the workflow has given up; `sweep_stale`
fails the runs whose workflow ended without a word (terminated). Task health events
they cause are enqueued after the commit."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from torale.db import unit_of_work
from torale.executions.liveness import sweep_stale_executions
from torale.executions.models import ExecutionStatus
from torale.models_base import utcnow
from torale.observability import metrics
from torale.tasks import health
from torale.tasks.models import TaskState
from torale.tasks.service import set_state
from torale.webhooks.fanout import enqueue_committed, stamp_all
from workers.execution_steps import (
    EXECUTION_MISSING,
    SWEEP_ACTIVITY,
    Evaluated,
    ExecutionSteps,
    MarkFailedInput,
    PersistInput,
    SweepInput,
    as_application_errors,
    heartbeating,
    lock_execution,
    seconds_since,
)

log = logging.getLogger(__name__)


class RecordSteps(ExecutionSteps):
    @activity.defn(name="execution_persist")
    async def persist(self, input: PersistInput) -> bool:
        """Record the outcome; True when a notification is due (to hand off)."""
        execution_id = uuid.UUID(input.execution_id)
        outcome = input.evaluated
        # Heartbeats: a worker killed here is noticed as fast as in `evaluate`.
        async with heartbeating():
            with as_application_errors():
                return await self._persist(execution_id, outcome)

    async def _persist(self, execution_id: uuid.UUID, outcome: Evaluated) -> bool:
        recovered: list[tuple[uuid.UUID, int]] = []
        try:
            return await self._persist_locked(execution_id, outcome, recovered)
        finally:
            # After the commit (an empty list when it did not happen).
            await enqueue_committed(recovered, self._deliveries)

    async def _persist_locked(
        self,
        execution_id: uuid.UUID,
        outcome: Evaluated,
        recovered: list[tuple[uuid.UUID, int]],
    ) -> bool:
        async with unit_of_work(self._sessions) as session:
            execution, task = await lock_execution(session, execution_id)
            if execution is None:
                raise ApplicationError(
                    "The execution was deleted", type=EXECUTION_MISSING, non_retryable=True
                )
            if execution.status == ExecutionStatus.SUCCESS:
                return execution.notification_due and not execution.notification_sent
            now = utcnow()
            execution.status = ExecutionStatus.SUCCESS
            execution.completed_at = now
            metrics.observe_execution("success", seconds_since(execution.started_at, now))
            execution.condition_met = outcome.condition_met
            execution.result = {
                "answer": outcome.answer,
                "reasoning": outcome.reasoning,
                "condition_met": outcome.condition_met,
                "sources_count": len(outcome.grounding_sources),
            }
            execution.current_state = outcome.current_state
            execution.change_summary = outcome.change_summary
            execution.grounding_sources = outcome.grounding_sources
            execution.error_message = execution.error_type = None
            # Recorded with the outcome, so a due notification survives any crash
            # between this commit and the hand-off (the fan-out can sweep for it).
            execution.notification_due = outcome.should_notify
            if task is not None:
                task.condition_met = outcome.condition_met
                task.last_known_state = outcome.current_state
                task.last_execution_id = execution.id
                # last_notified_at is set by the fan-out when a delivery succeeds.
                await session.flush()
                deliveries = await health.record_success(session, task, execution.id)
                stamped = stamp_all(deliveries, self._settings.delivery_lease_seconds)
                if outcome.complete_task:
                    await set_state(session, self._scheduler, task, TaskState.COMPLETED)
            else:
                stamped = []
        # Committed: the recovery event may go out.
        recovered.extend(stamped)
        return outcome.should_notify

    @activity.defn(name="execution_mark_failed")
    async def mark_failed(self, input: MarkFailedInput) -> None:
        async with heartbeating():
            with as_application_errors():
                await self._mark_failed(input)

    async def _mark_failed(self, input: MarkFailedInput) -> None:
        async with unit_of_work(self._sessions) as session:
            execution, task = await lock_execution(session, uuid.UUID(input.execution_id))
            if execution is None or execution.status in (
                ExecutionStatus.SUCCESS,
                ExecutionStatus.FAILED,
            ):
                # Final already (this is a retry of a step that committed): counted once.
                return
            execution.status = ExecutionStatus.FAILED
            execution.completed_at = utcnow()
            metrics.observe_execution(
                "failed", seconds_since(execution.started_at, execution.completed_at)
            )
            execution.error_message = input.error_message
            execution.error_type = input.error_type[:64]
            stamped: list[tuple[uuid.UUID, int]] = []
            if task is not None:
                task.last_execution_id = execution.id
                deliveries = await health.record_failure(session, task, execution)
                stamped = stamp_all(deliveries, self._settings.delivery_lease_seconds)
        await enqueue_committed(stamped, self._deliveries)
        # One line per failed execution, with the fields to find it (JSON logs keep them
        # as keys); the message is the user-readable one stored on the row.
        log.warning(
            "execution %s of task %s failed (%s): %s",
            execution.id,
            execution.task_id,
            execution.error_type,
            " ".join(input.error_message.split()),
            extra={
                "execution_id": str(execution.id),
                "task_id": str(execution.task_id),
                "error_type": execution.error_type,
            },
        )

    # Runs whose workflow ended without a word (terminated).

    @activity.defn(name=SWEEP_ACTIVITY)
    async def sweep_stale(self, input: SweepInput) -> int:
        """For the periodic reconcile pass: fail executions whose workflow has ended."""
        with as_application_errors():
            return await sweep_stale_executions(
                self._sessions,
                await self._scheduler.temporal_client(),
                min_age=timedelta(seconds=input.min_age_seconds),
            )
