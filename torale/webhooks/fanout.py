"""The hand-off from the execution pipeline to the notification channels.

`notify_condition_met` records one delivery per channel of the task and commits, and
only then enqueues one Dramatiq message per delivery: a worker never sees a delivery
the database does not have, and a committed delivery whose message never made it to
Redis is sent by the outbox sweeper (torale.webhooks.outbox). It is idempotent, so the
pipeline may call it again (an activity retry): existing deliveries are not duplicated,
and the ones never attempted are enqueued again (a duplicate message is a no-op).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from torale.db import unit_of_work
from torale.executions.models import Execution
from torale.models_base import utcnow
from torale.tasks.models import Task
from torale.webhooks.models import ChannelType, Delivery, DeliveryEventType, DeliveryStatus
from torale.webhooks.outbox import stamp_enqueued
from torale.webhooks.signing import build_condition_met_event, encode_event

log = logging.getLogger(__name__)

# Puts one committed delivery's message on the queue: (delivery id, token). The process
# running the fan-out hands one in (a `torale.webhooks.queue.DeliveryProducer`).
Enqueue = Callable[[uuid.UUID, int], Awaitable[None]]

_EVENT_NAMESPACE = uuid.UUID("6f1c6a52-3c1e-4bb5-9d43-0e8a3b7f2a10")
CONDITION_MET = DeliveryEventType.CONDITION_MET.value


def event_id_for(execution_id: uuid.UUID, event_type: str = CONDITION_MET) -> str:
    """Derived from the execution, so a repeated fan-out builds the very same event."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{event_type}:{execution_id}"))


def _channel_target(channel: Any) -> tuple[ChannelType, str, dict[str, str]] | None:
    if not isinstance(channel, dict):
        return None
    if channel.get("type") == "webhook" and isinstance(channel.get("url"), str):
        headers = channel.get("headers") or {}
        return ChannelType.WEBHOOK, channel["url"], dict(headers)
    if channel.get("type") == "email" and isinstance(channel.get("address"), str):
        return ChannelType.EMAIL, channel["address"], {}
    return None


def condition_met_body(task: Task, execution: Execution) -> tuple[str, bytes]:
    result = execution.result or {}
    event_id = event_id_for(execution.id)
    event = build_condition_met_event(
        event_id=event_id,
        occurred_at=execution.completed_at or execution.created_at or utcnow(),
        task_id=task.id,
        task_name=task.name,
        execution_id=execution.id,
        search_query=task.search_query,
        condition_description=task.condition_description,
        answer=result.get("answer"),
        reasoning=result.get("reasoning"),
        change_summary=execution.change_summary,
        grounding_sources=execution.grounding_sources or [],
        notify_behavior=str(task.notify_behavior),
        current_state=execution.current_state,
    )
    return event_id, encode_event(event)


async def create_event_deliveries(
    session: AsyncSession,
    task: Task,
    execution_id: uuid.UUID,
    event_type: str,
    event_id: str,
    body: bytes,
) -> list[Delivery]:
    """One delivery of the event per channel of the task (once); return those of this
    event never attempted. Flushes; the caller commits, then enqueues them."""
    rows = []
    for channel in task.notifications:
        target = _channel_target(channel)
        if target is None:
            log.warning("notify: task %s has an unusable channel %r", task.id, channel)
            continue
        kind, address, headers = target
        rows.append(
            {
                "id": uuid.uuid4(),
                "execution_id": execution_id,
                "task_id": task.id,
                "user_id": task.user_id,
                "channel": kind.value,
                "target": address,
                "headers": headers,
                "event_id": event_id,
                "event_type": event_type,
                "body": body,
                "status": DeliveryStatus.PENDING.value,
                "attempt_count": 0,
                "series_attempts": 0,
                "next_attempt_at": utcnow(),
            }
        )
    if rows:
        await session.execute(
            insert(Delivery)
            .values(rows)
            .on_conflict_do_nothing(constraint="uq_deliveries_execution_event_target")
        )
    found = await session.execute(
        select(Delivery)
        .where(
            col(Delivery.execution_id) == execution_id,
            col(Delivery.event_type) == event_type,
            col(Delivery.status) == DeliveryStatus.PENDING,
            col(Delivery.attempt_count) == 0,
        )
        .order_by(col(Delivery.created_at), col(Delivery.id))
    )
    return list(found.scalars())


async def create_deliveries(session: AsyncSession, execution_id: uuid.UUID) -> list[Delivery]:
    """Record the execution's condition_met deliveries (once); return those never
    attempted. Flushes."""
    execution = await session.get(Execution, execution_id)
    if execution is None:
        log.warning("notify: execution %s not found", execution_id)
        return []
    if not execution.condition_met:
        log.warning("notify: execution %s did not meet its condition", execution_id)
        return []
    task = await session.get(Task, execution.task_id)
    if task is None:
        return []
    event_id, body = condition_met_body(task, execution)
    return await create_event_deliveries(session, task, execution.id, CONDITION_MET, event_id, body)


def stamp_all(deliveries: list[Delivery], lease_seconds: float) -> list[tuple[uuid.UUID, int]]:
    """Stamp the rows as enqueued (inside their transaction); what to enqueue after it."""
    now = utcnow()
    for delivery in deliveries:
        stamp_enqueued(delivery, lease_seconds, now)
    return [(d.id, d.attempt_count) for d in deliveries]


async def enqueue_committed(pending: list[tuple[uuid.UUID, int]], enqueue: Enqueue) -> None:
    """Enqueue committed, stamped deliveries; a refusal is only logged, because the
    outbox sweeper sends them once their lease runs out (nothing is lost)."""
    for delivery_id, token in pending:
        try:
            await enqueue(delivery_id, token)
        except Exception:
            log.warning(
                "could not enqueue delivery %s; the outbox sweeper will send it",
                delivery_id,
                exc_info=True,
            )
            return


async def notify_condition_met(
    session_factory: async_sessionmaker[AsyncSession],
    execution_id: uuid.UUID,
    *,
    enqueue: Enqueue,
    lease_seconds: float,
) -> None:
    """Fan an execution whose condition is met out to its task's channels.

    The rows are committed with the lease of the messages about to be sent
    (torale.webhooks.outbox): should Redis refuse them, the outbox sweeper sends them
    once the lease has run out.
    """
    async with unit_of_work(session_factory) as session:
        pending = stamp_all(await create_deliveries(session, execution_id), lease_seconds)
    for delivery_id, token in pending:
        await enqueue(delivery_id, token)
