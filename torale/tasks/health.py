"""A task's health: `task_failing` after `failure_threshold` failed executions in a row,
`task_recovered` at the next success, and nothing in between.

The counter and the flag live on the task row (`consecutive_failures`, `failing_since`)
and change in the transaction that records the execution's outcome, with the task row
locked, together with the event's deliveries (the outbox): an outcome recorded twice
(an activity retry) finds the execution already final and counts nothing again, and a
task that stays failing has `failing_since` set, so `task_failing` is sent once per
streak.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from torale.executions.models import Execution
from torale.models_base import utcnow
from torale.tasks.models import Task
from torale.webhooks.fanout import create_event_deliveries, event_id_for
from torale.webhooks.models import Delivery, DeliveryEventType
from torale.webhooks.signing import (
    build_task_failing_event,
    build_task_recovered_event,
    encode_event,
)

TASK_FAILING = DeliveryEventType.TASK_FAILING.value
TASK_RECOVERED = DeliveryEventType.TASK_RECOVERED.value
# Failures that say nothing about the task: a manual run refused because another run
# of the task was in progress.
NOT_COUNTED = frozenset({"busy"})


async def record_failure(session: AsyncSession, task: Task, execution: Execution) -> list[Delivery]:
    """Count a failed execution; the `task_failing` deliveries to enqueue when this
    failure reaches the threshold. Call holding the task's row lock. Flushes."""
    if execution.error_type in NOT_COUNTED:
        return []
    task.consecutive_failures += 1
    if task.failing_since is not None or task.consecutive_failures < task.failure_threshold:
        return []
    now = utcnow()
    task.failing_since = now
    event_id = event_id_for(execution.id, TASK_FAILING)
    body = encode_event(
        build_task_failing_event(event_id=event_id, occurred_at=now, task=task, execution=execution)
    )
    await session.flush()
    return await create_event_deliveries(session, task, execution.id, TASK_FAILING, event_id, body)


async def record_success(
    session: AsyncSession, task: Task, execution_id: uuid.UUID
) -> list[Delivery]:
    """End any failure streak; the `task_recovered` deliveries to enqueue when the task
    was failing. Call holding the task's row lock. Flushes."""
    failing_since, failures = task.failing_since, task.consecutive_failures
    task.consecutive_failures = 0
    task.failing_since = None
    if failing_since is None:
        return []
    event_id = event_id_for(execution_id, TASK_RECOVERED)
    body = encode_event(
        build_task_recovered_event(
            event_id=event_id,
            occurred_at=utcnow(),
            task=task,
            execution_id=execution_id,
            failed_executions=failures,
            failing_since=failing_since,
        )
    )
    await session.flush()
    return await create_event_deliveries(
        session, task, execution_id, TASK_RECOVERED, event_id, body
    )
