"""TaskExecutionWorkflow: one run of a task, from claiming its row to the hand-off.

claim → evaluate (search + LLM + decide) → persist → hand off the notification.
Temporal retries `evaluate` (3 attempts, 1 s → 30 s, factor 2 by default) and the
steps that only touch the database (`claim`, `persist`, `mark_failed`: 8 attempts,
about 90 s, so a PostgreSQL restart is ridden out); when they give up, or the run is
cancelled, the `except` below records the final failure, so the execution never stays
`running` after the workflow ends. A worker killed mid-call is noticed by the
heartbeat timeout (20 s by default, `TORALE_EXECUTION_HEARTBEAT_SECONDS`) and the
attempt retried on another worker. (Terminating the workflow skips all code, and a
failure record that cannot be written while the database stays away fails the
workflow: `sweep_stale_executions`, run by the reconcile pass, fails such rows.)

Two runs of one task never overlap: `claim` refuses while another run is in
progress. A schedule tick then does nothing (like the schedule's SKIP policy); a
manual run waits for the other run, up to `busy_wait_seconds`, then fails.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
)
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from torale.scheduling.constants import WORKFLOW_TYPE, TaskExecutionInput
    from workers.execution_activities import ExecutionActivities
    from workers.execution_steps import (
        BUSY,
        CLAIMED,
        Claim,
        ClaimInput,
        EvaluateInput,
        ExecutionTuning,
        HandOffInput,
        MarkFailedInput,
        PersistInput,
    )

BUSY_MESSAGE = "Another execution of this task was still running; this one was not started"
CANCELLED_MESSAGE = "The execution was cancelled before it finished"
INTERNAL_ERROR = "internal_error"

# The claim runs before the worker's tuning is known (it brings it).
_CLAIM_TUNING = ExecutionTuning()


def _retry(tuning: ExecutionTuning) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=tuning.retry_initial_seconds),
        maximum_interval=timedelta(seconds=tuning.retry_maximum_seconds),
        backoff_coefficient=tuning.retry_backoff,
        maximum_attempts=tuning.maximum_attempts,
    )


def _database_retry(tuning: ExecutionTuning) -> RetryPolicy:
    """For steps that only touch the database: they outlast a PostgreSQL restart."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=tuning.database_retry_initial_seconds),
        maximum_interval=timedelta(seconds=tuning.database_retry_maximum_seconds),
        backoff_coefficient=2,
        maximum_attempts=tuning.database_attempts,
    )


def describe_failure(error: BaseException) -> tuple[str, str]:
    """(error_message, error_type) a person can read, for an activity that gave up."""
    cause = error.cause if isinstance(error, ActivityError) else error
    if isinstance(cause, ApplicationError):
        # Our activities raise snake_case types; CamelCase is an untranslated exception.
        if cause.type and cause.type[:1].islower():
            return cause.message, cause.type
        # A Python exception nobody translated: a bug, but still say what it was.
        return f"Internal error ({cause.type}): {cause.message}", INTERNAL_ERROR
    if isinstance(cause, ActivityTimeout):
        kind = cause.type.name.lower() if cause.type is not None else "timeout"
        return (
            f"The execution timed out ({kind}): the worker stopped or a provider did not "
            "answer in time",
            "timeout",
        )
    if isinstance(cause, CancelledError):
        return CANCELLED_MESSAGE, "cancelled"
    return f"Internal error: {cause or error}", INTERNAL_ERROR


@workflow.defn(name=WORKFLOW_TYPE)
class TaskExecutionWorkflow:
    def __init__(self) -> None:
        self._tuning = _CLAIM_TUNING

    @workflow.run
    async def run(self, input: TaskExecutionInput) -> str:
        execution_id = input.execution_id
        try:
            claim = await self._claim(input)
            self._tuning = claim.tuning
            execution_id = claim.execution_id
            if claim.outcome != CLAIMED or execution_id is None:
                if claim.outcome == BUSY and execution_id is not None:
                    await self._mark_failed(execution_id, BUSY_MESSAGE, "busy")
                    return "failed"
                return "skipped"
            return await self._execute(execution_id, claim.tuning)
        except ActivityError as exc:
            if execution_id is not None:
                await self._mark_failed(execution_id, *describe_failure(exc))
            return "failed"
        except asyncio.CancelledError:
            if execution_id is not None:
                await self._mark_failed(execution_id, CANCELLED_MESSAGE, "cancelled")
            raise

    async def _claim(self, input: TaskExecutionInput) -> Claim:
        claim_input = ClaimInput(
            task_id=input.task_id, execution_id=input.execution_id, trigger=input.trigger
        )
        claim = await self._claim_once(claim_input)
        deadline = workflow.now() + timedelta(seconds=claim.tuning.busy_wait_seconds)
        while claim.outcome == BUSY and workflow.now() < deadline:
            await asyncio.sleep(claim.tuning.busy_poll_seconds)
            claim = await self._claim_once(claim_input)
        return claim

    async def _claim_once(self, claim_input: ClaimInput) -> Claim:
        return await workflow.execute_activity_method(
            ExecutionActivities.claim,
            claim_input,
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=_CLAIM_TUNING.heartbeat_seconds),
            retry_policy=_database_retry(_CLAIM_TUNING),
        )

    async def _execute(self, execution_id: str, tuning: ExecutionTuning) -> str:
        evaluated = await workflow.execute_activity_method(
            ExecutionActivities.evaluate,
            EvaluateInput(execution_id=execution_id),
            start_to_close_timeout=timedelta(seconds=tuning.evaluate_timeout_seconds),
            heartbeat_timeout=timedelta(seconds=tuning.heartbeat_seconds),
            retry_policy=_retry(tuning),
        )
        notify = await workflow.execute_activity_method(
            ExecutionActivities.persist,
            PersistInput(execution_id=execution_id, evaluated=evaluated),
            start_to_close_timeout=timedelta(seconds=tuning.persist_timeout_seconds),
            heartbeat_timeout=timedelta(seconds=tuning.heartbeat_seconds),
            retry_policy=_database_retry(tuning),
        )
        if notify:
            try:
                await workflow.execute_activity_method(
                    ExecutionActivities.hand_off,
                    HandOffInput(execution_id=execution_id),
                    start_to_close_timeout=timedelta(seconds=60),
                    retry_policy=_retry(tuning),
                )
            except ActivityError as exc:
                # The execution succeeded; `notification_due` stays set for the fan-out.
                workflow.logger.warning("hand-off of %s failed: %s", execution_id, exc.cause)
        return "success"

    async def _mark_failed(self, execution_id: str, message: str, error_type: str) -> None:
        await workflow.execute_activity_method(
            ExecutionActivities.mark_failed,
            MarkFailedInput(
                execution_id=execution_id, error_message=message, error_type=error_type
            ),
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=self._tuning.heartbeat_seconds),
            retry_policy=_database_retry(self._tuning),
        )
