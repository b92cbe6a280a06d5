"""One attempt of one delivery, recorded; the Dramatiq actor wraps this.

The bookkeeping rests on the delivery row, locked (SELECT ... FOR NO KEY UPDATE) for
the whole attempt:
- a final row (succeeded, failed, gone) is never attempted again, so a duplicate
  message after a success is a no-op;
- each message carries a `token`, the row's attempt_count when it was scheduled. A
  message whose token no longer matches is stale (a duplicate, or a retry superseded
  by a redelivery) and does nothing;
- a worker that dies mid-attempt leaves the transaction uncommitted: the row is
  unchanged, and its lock goes with the connection. The outbox sweeper
  (torale.webhooks.outbox) enqueues the delivery again once its lease runs out.
- With a `journal` session factory, the attempt is first written `in_progress` and
  committed on its own (the row lock is NO KEY UPDATE so that insert's foreign-key
  check does not wait for it); the attempt's transaction closes it with the outcome.
  An attempt still open when the next holder of the lock looks was interrupted by a
  crash, and is recorded so.

The caller owns the transaction: it commits after `deliver` returns (and, for a
retry, after enqueuing the next message, see torale.webhooks.queue).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

import torale.models  # noqa: F401 - every table, so foreign keys resolve in a lone worker
from torale.config import Settings
from torale.db import unit_of_work
from torale.executions.models import Execution
from torale.models_base import utcnow
from torale.notifications.email import (
    EmailDeliveryError,
    SmtpSettings,
    compose_condition_met_email,
    send_email,
)
from torale.notifications.health_email import compose_health_email
from torale.observability import metrics
from torale.secret_box import SecretBox
from torale.tasks.models import Task
from torale.webhooks import secrets as secret_store
from torale.webhooks.models import (
    FINAL_STATUSES,
    AttemptOutcome,
    ChannelType,
    Delivery,
    DeliveryAttempt,
    DeliveryEventType,
    DeliveryStatus,
)
from torale.webhooks.outbox import close_interrupted_attempts, lock_delivery, stamp_enqueued
from torale.webhooks.retry import DEFAULT_SCHEDULE, RetrySchedule
from torale.webhooks.sender import AttemptResult, send_webhook
from torale.webhooks.signing import headers_for

# Events about the task itself rather than about what it watches.
HEALTH_EVENTS = frozenset({DeliveryEventType.TASK_FAILING, DeliveryEventType.TASK_RECOVERED})
SMTP_NOT_CONFIGURED = "E-mail is not configured: set TORALE_SMTP_HOST (and TORALE_SMTP_SENDER)"


@dataclass(frozen=True)
class DeliveryStep:
    """What one message did. `retry_in` set: enqueue the next attempt with `token`."""

    delivery_id: uuid.UUID
    status: DeliveryStatus | None
    attempt_number: int | None = None
    retry_in: float | None = None
    token: int | None = None
    skipped: str | None = None


def retry_schedule(settings: Settings) -> RetrySchedule:
    text = settings.webhook_retry_schedule.strip()
    return RetrySchedule.from_string(text) if text else DEFAULT_SCHEDULE


def smtp_settings(settings: Settings) -> SmtpSettings | None:
    if not settings.smtp_host:
        return None
    return SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_sender,
        username=settings.smtp_username,
        password=settings.smtp_password,
        tls=settings.smtp_tls,
        timeout=settings.webhook_timeout_seconds * 2,
    )


async def _signing_secrets(
    session: AsyncSession,
    journal: async_sessionmaker[AsyncSession] | None,
    row: Delivery,
    settings: Settings,
) -> list[str]:
    box = SecretBox.from_settings(settings)
    if journal is None:
        return await secret_store.secrets_for(session, row.user_id, box)
    # In a short transaction of its own: a user's first secret, created here, must not
    # stay uncommitted for the whole attempt, holding up the user's other deliveries.
    async with unit_of_work(journal) as side:
        return await secret_store.secrets_for(side, row.user_id, box)


async def _attempt_webhook(
    session: AsyncSession,
    journal: async_sessionmaker[AsyncSession] | None,
    row: Delivery,
    settings: Settings,
    http_client: httpx.AsyncClient,
) -> AttemptResult:
    secrets = await _signing_secrets(session, journal, row, settings)
    # Signed afresh per attempt: receivers reject stale webhook-timestamps.
    headers = headers_for(row.event_id, int(time.time()), row.body, secrets)
    return await send_webhook(
        http_client,
        row.target,
        row.body,
        headers,
        timeout=settings.webhook_timeout_seconds,
        extra_headers=row.headers,
        allow_private=settings.allow_private_urls,
    )


async def _attempt_email(row: Delivery, settings: Settings) -> AttemptResult:
    smtp = smtp_settings(settings)
    if smtp is None:
        return AttemptResult("refused", None, SMTP_NOT_CONFIGURED, 0)
    data = row.event.get("data", {})
    if row.event_type in HEALTH_EVENTS:
        message = compose_health_email(
            sender=smtp.sender,
            to=row.target,
            event_type=row.event_type,
            data=data,
            task_url=_task_url(settings, data.get("task_id")),
            message_id=f"<{row.event_id}@torale>",
        )
    else:
        message = _condition_met_email(row, smtp, settings, data)
    return await _send_timed(smtp, message)


def _condition_met_email(
    row: Delivery, smtp: SmtpSettings, settings: Settings, data: dict[str, Any]
) -> EmailMessage:
    return compose_condition_met_email(
        sender=smtp.sender,
        to=row.target,
        task_name=data.get("task_name") or "",
        answer=data.get("answer"),
        reasoning=data.get("reasoning"),
        change_summary=data.get("change_summary"),
        grounding_sources=data.get("grounding_sources") or [],
        task_url=_task_url(settings, data.get("task_id")),
        message_id=f"<{row.event_id}@torale>",
    )


async def _send_timed(smtp: SmtpSettings, message: EmailMessage) -> AttemptResult:
    started = time.perf_counter()
    try:
        await send_email(smtp, message)
    except EmailDeliveryError as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        return AttemptResult("refused" if exc.permanent else "retry", None, str(exc), elapsed)
    return AttemptResult("success", None, None, int((time.perf_counter() - started) * 1000))


def _task_url(settings: Settings, task_id: str | None) -> str | None:
    if not settings.public_url or not task_id:
        return None
    return f"{settings.public_url.rstrip('/')}/api/v1/tasks/{task_id}"


async def _mark_notified(session: AsyncSession, row: Delivery) -> None:
    if row.event_type in HEALTH_EVENTS:
        # notification_sent and last_notified_at speak of condition_met notifications.
        return
    now = utcnow()
    if row.execution_id is not None:
        await session.execute(
            update(Execution)
            .where(col(Execution.id) == row.execution_id)
            .values(notification_sent=True)
        )
    await session.execute(
        update(Task).where(col(Task.id) == row.task_id).values(last_notified_at=now)
    )


async def _open_attempt(
    journal: async_sessionmaker[AsyncSession] | None, delivery_id: uuid.UUID, number: int
) -> uuid.UUID | None:
    """Commit an `in_progress` attempt before the request goes out (journal given)."""
    if journal is None:
        return None
    async with journal() as side:
        attempt = DeliveryAttempt(
            delivery_id=delivery_id,
            attempt_number=number,
            outcome=AttemptOutcome.IN_PROGRESS,
            created_at=utcnow(),
        )
        side.add(attempt)
        await side.commit()
        return attempt.id


async def _close_attempt(
    session: AsyncSession, opened: uuid.UUID | None, values: dict[str, Any]
) -> None:
    if opened is None:
        session.add(DeliveryAttempt(**values))
        return
    # An opened attempt keeps its created_at: when the request went out.
    values = {k: v for k, v in values.items() if k != "created_at"}
    await session.execute(
        update(DeliveryAttempt).where(col(DeliveryAttempt.id) == opened).values(**values)
    )


async def deliver(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    settings: Settings,
    http_client: httpx.AsyncClient,
    token: int | None = None,
    journal: async_sessionmaker[AsyncSession] | None = None,
) -> DeliveryStep:
    """Make the delivery's next attempt (if it is due one) and record it. Flushes only
    `session`; `journal` (optional) commits the attempt's `in_progress` record."""
    row = await lock_delivery(session, delivery_id)
    if row is None:
        return DeliveryStep(delivery_id, None, skipped="delivery no longer exists")
    if row.status in FINAL_STATUSES:
        return DeliveryStep(delivery_id, row.status, skipped=f"already {row.status}")
    if token is not None and token != row.attempt_count:
        return DeliveryStep(delivery_id, row.status, skipped="stale message")

    await close_interrupted_attempts(session, row)
    number = row.attempt_count + 1
    opened = await _open_attempt(journal, row.id, number)
    if row.channel == ChannelType.WEBHOOK:
        result = await _attempt_webhook(session, journal, row, settings, http_client)
    else:
        result = await _attempt_email(row, settings)

    now = utcnow()
    row.attempt_count = number
    row.series_attempts += 1
    row.last_status_code = result.status_code
    row.last_error = result.error
    row.updated_at = now
    row.next_attempt_at = None
    outcome: str = result.outcome
    retry_in: float | None = None
    if result.outcome == "success":
        row.status = DeliveryStatus.SUCCEEDED
        row.succeeded_at = now
        await _mark_notified(session, row)
    elif result.outcome == "gone":
        row.status = DeliveryStatus.GONE
    elif result.outcome == "refused":
        row.status = DeliveryStatus.FAILED
    else:
        retry_in = retry_schedule(settings).next_delay(
            row.series_attempts, result.retry_after_seconds
        )
        if retry_in is None:
            row.status = DeliveryStatus.FAILED
            outcome = "failed"
        else:
            row.status = DeliveryStatus.PENDING
            row.next_attempt_at = now + timedelta(seconds=retry_in)
            # The caller enqueues the retry before committing this.
            stamp_enqueued(row, settings.delivery_lease_seconds, now)
    metrics.observe_delivery_attempt(str(row.channel), outcome, number)
    await _close_attempt(
        session,
        opened,
        {
            "delivery_id": row.id,
            "attempt_number": number,
            "outcome": outcome,
            "status_code": result.status_code,
            "error": result.error,
            "duration_ms": result.duration_ms,
            "next_attempt_at": row.next_attempt_at,
            "created_at": now,
        },
    )
    await session.flush()
    return DeliveryStep(
        delivery_id,
        row.status,
        attempt_number=number,
        retry_in=retry_in,
        token=row.attempt_count,
    )
