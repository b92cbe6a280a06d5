"""`evaluate`: mark the row running with its attempt number, load the task, search, ask
the LLM and decide. Nothing is written but the attempt."""

from __future__ import annotations

import uuid

from temporalio import activity
from temporalio.exceptions import ApplicationError

from torale.db import unit_of_work
from torale.executions.liveness import IN_PROGRESS
from torale.executions.models import Execution, ExecutionStatus
from torale.models_base import utcnow
from torale.monitoring.changes import decide_after_execution
from torale.monitoring.evaluation import EvaluationInput, evaluate
from torale.monitoring.providers.factory import build_providers
from torale.tasks.models import Task
from workers.execution_steps import (
    EXECUTION_FINISHED,
    EXECUTION_MISSING,
    TASK_DELETED,
    Evaluated,
    EvaluateInput,
    ExecutionSteps,
    as_application_errors,
    heartbeating,
)


class EvaluateStep(ExecutionSteps):
    @activity.defn(name="execution_evaluate")
    async def evaluate(self, input: EvaluateInput) -> Evaluated:
        execution_id = uuid.UUID(input.execution_id)
        with as_application_errors():
            task = await self._start_attempt(execution_id)
        async with heartbeating():
            with as_application_errors(max_delay=self._tuning.retry_maximum_seconds):
                providers = build_providers(self._settings, task.config)
                result = await evaluate(
                    EvaluationInput(
                        search_query=task.search_query,
                        condition_description=task.condition_description,
                        last_known_state=task.last_known_state,
                        output_schema=task.output_schema,
                    ),
                    providers,
                )
                decision = await decide_after_execution(
                    providers.llm,
                    # Rows loaded from the database carry plain strings.
                    notify_behavior=str(task.notify_behavior),
                    condition_met=result.condition_met,
                    previous_state=task.last_known_state,
                    current_state=result.current_state,
                    structured=task.output_schema is not None,
                )
        return Evaluated(
            condition_met=result.condition_met,
            answer=result.answer,
            reasoning=result.reasoning,
            current_state=result.current_state,
            grounding_sources=result.grounding_sources,
            change_summary=decision.change_summary,
            should_notify=decision.should_notify,
            complete_task=decision.complete_task,
        )

    async def _start_attempt(self, execution_id: uuid.UUID) -> Task:
        """Mark the row running with this attempt's number; the task to evaluate."""
        async with unit_of_work(self._sessions) as session:
            execution = await session.get(Execution, execution_id, with_for_update=True)
            if execution is None:
                raise ApplicationError(
                    "The execution was deleted", type=EXECUTION_MISSING, non_retryable=True
                )
            if execution.status not in IN_PROGRESS:
                # Finished while this activity was queued (its workflow was terminated
                # and the sweep failed the row): reopening it would leave it `running`.
                # The workflow's `mark_failed` leaves a finished row as it is.
                raise ApplicationError(
                    f"The execution was already {execution.status}",
                    type=EXECUTION_FINISHED,
                    non_retryable=True,
                )
            task = await session.get(Task, execution.task_id)
            if task is None:
                raise ApplicationError(
                    "The task was deleted during the execution",
                    type=TASK_DELETED,
                    non_retryable=True,
                )
            execution.status = ExecutionStatus.RUNNING
            execution.attempt = activity.info().attempt
            execution.started_at = execution.started_at or utcnow()
            return task
