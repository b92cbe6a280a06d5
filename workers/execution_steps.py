"""What the steps of the task-execution workflow share: their inputs and outputs, the
worker's tuning, and how a step reports failures, heartbeats and locks its rows.

Every step is an activity that takes one dataclass and is safe to run again (Temporal
retries it, and a worker killed after a commit but before reporting makes it run twice).
Provider failures become `ApplicationError`s whose `type` is the provider error's
`error_type` and which are non-retryable when retrying cannot help.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from torale.config import Settings
from torale.errors import ToraleError
from torale.executions.models import Execution
from torale.monitoring.errors import ProviderError
from torale.scheduling.scheduler import TaskScheduler
from torale.tasks.models import Task
from torale.webhooks.fanout import Enqueue

# Outcomes of `claim`.
CLAIMED = "claimed"
BUSY = "busy"  # another run of the task is in progress: wait (manual) or skip (schedule)
SKIPPED = "skipped"  # nothing to run: task gone or not active (schedule), row gone

SWEEP_ACTIVITY = "execution_sweep_stale"
EXECUTION_MISSING = "execution_missing"
TASK_DELETED = "task_deleted"
# The row was finished (by the stale-run sweep, say) before this attempt started.
EXECUTION_FINISHED = "execution_finished"


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


def seconds_since(started: datetime | None, ended: datetime) -> float | None:
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
def as_application_errors(max_delay: float | None = None) -> Iterator[None]:
    try:
        yield
    except (ProviderError, ToraleError) as exc:
        raise application_error(exc, max_delay=max_delay) from exc


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
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


async def lock_execution(
    session: AsyncSession, execution_id: uuid.UUID
) -> tuple[Execution | None, Task | None]:
    """Lock the task, then its execution: the order the API and `claim` use, so two
    writers of one task wait for each other instead of deadlocking."""
    task_id = (
        await session.execute(
            select(col(Execution.task_id)).where(col(Execution.id) == execution_id)
        )
    ).scalar_one_or_none()
    if task_id is None:
        return None, None
    task = (
        await session.execute(select(Task).where(col(Task.id) == task_id).with_for_update())
    ).scalar_one_or_none()
    execution = (
        await session.execute(
            select(Execution).where(col(Execution.id) == execution_id).with_for_update()
        )
    ).scalar_one_or_none()
    return execution, task


class ExecutionSteps:
    """What every step works with; `ExecutionActivities` (workers.execution_activities)
    combines the steps into the activities a worker registers."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        scheduler: TaskScheduler,
        tuning: ExecutionTuning | None = None,
        *,
        deliveries: Enqueue,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._scheduler = scheduler
        self._tuning = tuning or ExecutionTuning()
        # Where committed deliveries are enqueued (the worker's `DeliveryProducer`).
        self._deliveries = deliveries
