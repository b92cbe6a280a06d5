"""The task-execution workflow's activities: every database write and provider call.

Each activity takes one dataclass and is safe to run again (Temporal retries it, and a
worker killed after a commit but before reporting makes it run twice):

- `claim` creates (schedule runs) or claims (manual runs) the execution row, or says
  the task is busy or gone;
- `evaluate` marks the row running with its attempt number, loads the task, searches,
  asks the LLM and decides (nothing is written but the attempt);
- `persist` writes the outcome to the execution and the task in one transaction (and
  completes a `once` task, deleting its schedule);
- `hand_off` gives a due notification to the fan-out;
- `mark_failed` records the final failure, once the workflow has given up.

Provider failures become `ApplicationError`s whose `type` is the provider error's
`error_type` and which are non-retryable when retrying cannot help.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from torale.config import Settings
from torale.db import unit_of_work
from torale.errors import ToraleError
from torale.executions.liveness import (
    fail_if_workflow_ended,
    in_progress_for_task,
    sweep_stale_executions,
)
from torale.executions.models import Execution, ExecutionStatus, ExecutionTrigger
from torale.models_base import utcnow
from torale.monitoring.changes import decide_after_execution
from torale.monitoring.errors import ProviderError
from torale.monitoring.evaluation import EvaluationInput, evaluate
from torale.monitoring.providers.factory import build_providers
from torale.notifications.fanout import enqueue_committed, stamp_all
from torale.observability import metrics
from torale.scheduling.scheduler import TaskScheduler
from torale.tasks import health
from torale.tasks.models import Task, TaskState
from torale.tasks.service import set_state

log = logging.getLogger(__name__)

# Outcomes of `claim`.
CLAIMED = "claimed"
BUSY = "busy"  # another run of the task is in progress: wait (manual) or skip (schedule)
SKIPPED = "skipped"  # nothing to run: task gone or not active (schedule), row gone

SWEEP_ACTIVITY = "execution_sweep_stale"
EXECUTION_MISSING = "execution_missing"
TASK_DELETED = "task_deleted"


@dataclass(frozen=True)
class ExecutionTuning:
    """Timeouts and retry pacing; the workflow receives them from `claim`, so a worker
    decides them (tests shorten them) without the workflow reading settings."""

    retry_initial_seconds: float = 1.0
    retry_maximum_seconds: float = 30.0
    retry_backoff: float = 2.0
    maximum_attempts: int = 3
    # A killed worker is noticed after this long without a heartbeat; the attempt is
    # then retried elsewhere (and counts as an attempt).
    heartbeat_seconds: float = 20.0
    # Steps that only touch the database (claim, persist, recording a failure) retry
    # longer, so a PostgreSQL restart does not fail a run whose answer is in hand.
    database_attempts: int = 8
    database_retry_initial_seconds: float = 1.0
    database_retry_maximum_seconds: float = 30.0
    evaluate_timeout_seconds: float = 300.0
    persist_timeout_seconds: float = 60.0
    # A manual run that finds another run in progress waits this long, polling.
    busy_poll_seconds: float = 5.0
    busy_wait_seconds: float = 900.0
    # A manual run's row is committed just after its workflow starts.
    row_visible_within_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ExecutionTuning:
        return cls(
            heartbeat_seconds=settings.execution_heartbeat_seconds,
            maximum_attempts=settings.execution_max_attempts,
            database_attempts=settings.execution_database_attempts,
        )


@dataclass(frozen=True)
class ClaimInput:
    task_id: str
    execution_id: str | None
    trigger: str


@dataclass(frozen=True)
class Claim:
    outcome: str
    execution_id: str | None
    tuning: ExecutionTuning = field(default_factory=ExecutionTuning)


@dataclass(frozen=True)
class EvaluateInput:
    execution_id: str


@dataclass(frozen=True)
class Evaluated:
    condition_met: bool
    answer: str
    reasoning: str
    current_state: Any
    grounding_sources: list[dict[str, Any]]
    change_summary: str | None
    should_notify: bool
    complete_task: bool


@dataclass(frozen=True)
class PersistInput:
    execution_id: str
    evaluated: Evaluated


@dataclass(frozen=True)
class HandOffInput:
    execution_id: str


@dataclass(frozen=True)
class SweepInput:
    min_age_seconds: float = 120.0


@dataclass(frozen=True)
class MarkFailedInput:
    execution_id: str
    error_message: str
    error_type: str


def _seconds_since(started: datetime | None, ended: datetime) -> float | None:
    return (ended - started).total_seconds() if started is not None else None


def application_error(exc: Exception, *, max_delay: float | None = None) -> ApplicationError:
    """A domain error as Temporal should see it: readable, typed, retryable or not.

    BENIGN: an expected failure ("no LLM configured", a provider outage) is not a bug, so
    the SDK logs it at DEBUG without a traceback; the execution's failure is logged as
    one line by `mark_failed`. Anything else still gets the SDK's one traceback."""
    if isinstance(exc, ProviderError):
        delay = exc.retry_after
        if delay is not None and max_delay is not None:
            delay = min(delay, max_delay)
        return ApplicationError(
            exc.message,
            type=exc.error_type,
            non_retryable=not exc.retryable,
            next_retry_delay=timedelta(seconds=delay) if delay is not None else None,
            category=ApplicationErrorCategory.BENIGN,
        )
    assert isinstance(exc, ToraleError)
    # Unavailable (Temporal, the database) is worth retrying; a 4xx-type error is not.
    return ApplicationError(
        exc.message,
        type=exc.code.lower(),
        non_retryable=exc.status_code < 500,
        category=ApplicationErrorCategory.BENIGN,
    )


@contextlib.contextmanager
def _as_application_errors(max_delay: float | None = None) -> Iterator[None]:
    try:
        yield
    except (ProviderError, ToraleError) as exc:
        raise application_error(exc, max_delay=max_delay) from exc


@contextlib.asynccontextmanager
async def _heartbeating() -> AsyncIterator[None]:
    """Heartbeat while the block runs, so a dead worker is noticed within the timeout."""
    timeout = activity.info().heartbeat_timeout
    if not timeout:
        yield
        return
    interval = max(timeout.total_seconds() / 3, 0.1)

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(interval)

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating


async def _lock(
    session: AsyncSession, execution_id: uuid.UUID
) -> tuple[Execution | None, Task | None]:
    """Lock the task, then its execution: the order the API and `claim` use, so two
    writers of one task wait for each other instead of deadlocking."""
    task_id = (
        await session.execute(select(Execution.task_id).where(Execution.id == execution_id))
    ).scalar_one_or_none()
    if task_id is None:
        return None, None
    task = (
        await session.execute(select(Task).where(Task.id == task_id).with_for_update())
    ).scalar_one_or_none()
    execution = (
        await session.execute(
            select(Execution).where(Execution.id == execution_id).with_for_update()
        )
    ).scalar_one_or_none()
    return execution, task


class ExecutionActivities:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        scheduler: TaskScheduler,
        tuning: ExecutionTuning | None = None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._scheduler = scheduler
        self._tuning = tuning or ExecutionTuning()

    def activities(self) -> list[Any]:
        return [
            self.claim,
            self.evaluate,
            self.persist,
            self.hand_off,
            self.mark_failed,
            self.sweep_stale,
        ]

    # --- claim

    @activity.defn(name="execution_claim")
    async def claim(self, input: ClaimInput) -> Claim:
        async with _heartbeating():
            return await self._claim_activity(input)

    async def _claim_activity(self, input: ClaimInput) -> Claim:
        task_id = uuid.UUID(input.task_id)
        workflow_id = activity.info().workflow_id
        with _as_application_errors():
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
            await session.execute(select(Task).where(Task.id == task_id).with_for_update())
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
            query = select(Execution).where(Execution.id == execution_id)
        else:
            query = select(Execution).where(
                Execution.task_id == task_id, Execution.workflow_id == workflow_id
            )
        return (await session.execute(query.with_for_update())).scalar_one_or_none()

    # --- evaluate

    @activity.defn(name="execution_evaluate")
    async def evaluate(self, input: EvaluateInput) -> Evaluated:
        execution_id = uuid.UUID(input.execution_id)
        with _as_application_errors():
            task = await self._start_attempt(execution_id)
        async with _heartbeating():
            with _as_application_errors(max_delay=self._tuning.retry_maximum_seconds):
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
                    notify_behavior=str(task.notify_behavior),  # type: ignore[arg-type]
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

    # --- persist

    @activity.defn(name="execution_persist")
    async def persist(self, input: PersistInput) -> bool:
        """Record the outcome; True when a notification is due (to hand off)."""
        execution_id = uuid.UUID(input.execution_id)
        outcome = input.evaluated
        # Heartbeats: a worker killed here is noticed as fast as in `evaluate`.
        async with _heartbeating():
            with _as_application_errors():
                return await self._persist(execution_id, outcome)

    async def _persist(self, execution_id: uuid.UUID, outcome: Evaluated) -> bool:
        recovered: list[tuple[uuid.UUID, int]] = []
        try:
            return await self._persist_locked(execution_id, outcome, recovered)
        finally:
            # After the commit (an empty list when it did not happen).
            await enqueue_committed(recovered)

    async def _persist_locked(
        self,
        execution_id: uuid.UUID,
        outcome: Evaluated,
        recovered: list[tuple[uuid.UUID, int]],
    ) -> bool:
        async with unit_of_work(self._sessions) as session:
            execution, task = await _lock(session, execution_id)
            if execution is None:
                raise ApplicationError(
                    "The execution was deleted", type=EXECUTION_MISSING, non_retryable=True
                )
            if execution.status == ExecutionStatus.SUCCESS:
                return execution.notification_due and not execution.notification_sent
            now = utcnow()
            execution.status = ExecutionStatus.SUCCESS
            execution.completed_at = now
            metrics.observe_execution("success", _seconds_since(execution.started_at, now))
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

    # --- hand-off to the notification fan-out

    @activity.defn(name="execution_hand_off")
    async def hand_off(self, input: HandOffInput) -> str:
        try:
            from torale.notifications.fanout import notify_condition_met
        except ModuleNotFoundError as exc:
            if exc.name not in ("torale.notifications.fanout", "torale.notifications"):
                raise
            log.warning(
                "execution %s: notification due, but no fan-out is installed "
                "(torale.notifications.fanout); left notification_due=true",
                input.execution_id,
            )
            return "fan-out not installed"
        await notify_condition_met(
            self._sessions,
            uuid.UUID(input.execution_id),
            lease_seconds=self._settings.delivery_lease_seconds,
        )
        return "handed off"

    # --- final failure

    @activity.defn(name="execution_mark_failed")
    async def mark_failed(self, input: MarkFailedInput) -> None:
        async with _heartbeating():
            with _as_application_errors():
                await self._mark_failed(input)

    async def _mark_failed(self, input: MarkFailedInput) -> None:
        async with unit_of_work(self._sessions) as session:
            execution, task = await _lock(session, uuid.UUID(input.execution_id))
            if execution is None or execution.status in (
                ExecutionStatus.SUCCESS,
                ExecutionStatus.FAILED,
            ):
                # Final already (this is a retry of a step that committed): counted once.
                return
            execution.status = ExecutionStatus.FAILED
            execution.completed_at = utcnow()
            metrics.observe_execution(
                "failed", _seconds_since(execution.started_at, execution.completed_at)
            )
            execution.error_message = input.error_message
            execution.error_type = input.error_type[:64]
            stamped: list[tuple[uuid.UUID, int]] = []
            if task is not None:
                task.last_execution_id = execution.id
                deliveries = await health.record_failure(session, task, execution)
                stamped = stamp_all(deliveries, self._settings.delivery_lease_seconds)
        await enqueue_committed(stamped)
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

    # --- cleanup of runs whose workflow ended without a word (terminated)

    @activity.defn(name=SWEEP_ACTIVITY)
    async def sweep_stale(self, input: SweepInput) -> int:
        """For the periodic reconcile pass: fail executions whose workflow has ended."""
        with _as_application_errors():
            return await sweep_stale_executions(
                self._sessions,
                await self._scheduler.temporal_client(),
                min_age=timedelta(seconds=input.min_age_seconds),
            )
