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
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from torale.config import get_settings
from torale.db import unit_of_work
from torale.executions.models import Execution
from torale.models_base import utcnow
from torale.tasks.models import Task
from torale.webhooks.models import ChannelType, Delivery, DeliveryEventType, DeliveryStatus
from torale.webhooks.outbox import stamp_enqueued
from torale.webhooks.queue import enqueue_delivery
from torale.webhooks.signing import build_condition_met_event, encode_event

log = logging.getLogger(__name__)

_EVENT_NAMESPACE = uuid.UUID("6f1c6a52-3c1e-4bb5-9d43-0e8a3b7f2a10")


def event_id_for(execution_id: uuid.UUID) -> str:
    """Derived from the execution, so a repeated fan-out builds the very same event."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"condition_met:{execution_id}"))


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
    )
    return event_id, encode_event(event)


async def create_deliveries(session: AsyncSession, execution_id: uuid.UUID) -> list[Delivery]:
    """Record the execution's deliveries (once); return those never attempted. Flushes."""
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
                "execution_id": execution.id,
                "task_id": task.id,
                "user_id": task.user_id,
                "channel": kind.value,
                "target": address,
                "headers": headers,
                "event_id": event_id,
                "event_type": DeliveryEventType.CONDITION_MET.value,
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
            .on_conflict_do_nothing(constraint="uq_deliveries_execution_target")
        )
    found = await session.execute(
        select(Delivery)
        .where(
            Delivery.execution_id == execution.id,
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.attempt_count == 0,
        )
        .order_by(Delivery.created_at, Delivery.id)
    )
    return list(found.scalars())


async def notify_condition_met(
    session_factory: async_sessionmaker[AsyncSession],
    execution_id: uuid.UUID,
    *,
    lease_seconds: float | None = None,
) -> None:
    """Fan an execution whose condition is met out to its task's channels.

    The rows are committed with the lease of the messages about to be sent
    (torale.webhooks.outbox): should Redis refuse them, the outbox sweeper sends them
    once the lease has run out.
    """
    if lease_seconds is None:
        lease_seconds = get_settings().delivery_lease_seconds
    async with unit_of_work(session_factory) as session:
        deliveries = await create_deliveries(session, execution_id)
        now = utcnow()
        for delivery in deliveries:
            stamp_enqueued(delivery, lease_seconds, now)
        pending = [(d.id, d.attempt_count) for d in deliveries]
    for delivery_id, token in pending:
        await enqueue_delivery(delivery_id, token)
