"""What the API does with webhooks: secrets, test events, the delivery log, redelivery."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.auth.subject import Subject
from torale.config import Settings
from torale.errors import NotFound, Unavailable, ValidationFailed
from torale.input_limits import URL_MAX, check_length
from torale.models_base import utcnow
from torale.net.ssrf import UnresolvableHost, UnsafeURL, check_url
from torale.pagination import PageRequest, fetch_entity_page
from torale.secret_box import SecretBox

# A module reference: tasks.service imports this module for its channel checks.
from torale.tasks.models import Task
from torale.webhooks import secrets as secret_store
from torale.webhooks.fanout import Enqueue
from torale.webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus
from torale.webhooks.outbox import lock_delivery, stamp_enqueued
from torale.webhooks.signing import build_test_event, encode_event, headers_for, new_event_id

DELIVERY_NOT_FOUND = "Delivery not found"
QUEUE_UNAVAILABLE = "Notification queue unavailable, nothing was changed"


@dataclass(frozen=True)
class TestResult:
    status_code: int | None
    success: bool
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class DeliveryPage:
    items: list[Delivery]
    total: int


async def get_secret(
    session: AsyncSession, user: Subject, settings: Settings
) -> secret_store.SigningSecret:
    return await secret_store.get_or_create(
        session, user.user_id, SecretBox.from_settings(settings)
    )


async def rotate_secret(
    session: AsyncSession, user: Subject, settings: Settings
) -> secret_store.SigningSecret:
    return await secret_store.rotate(
        session,
        user.user_id,
        SecretBox.from_settings(settings),
        settings.webhook_secret_grace_seconds,
    )


async def check_webhook_url(url: str, *, allow_private: bool, loc: Sequence[str | int]) -> None:
    """The SSRF guard as a 422 naming the field."""
    try:
        await check_url(url, allow_private=allow_private)
    except UnsafeURL as exc:
        raise ValidationFailed.field(list(loc), str(exc)) from None


async def send_test_event(
    session: AsyncSession, user: Subject, url: str, settings: Settings
) -> TestResult:
    """Send a signed `test` event to `url` now (not recorded as a delivery)."""
    # Imported here: they load httpx, which the API needs only to send.
    from torale.net.transport import safe_client
    from torale.webhooks.sender import send_webhook

    url = check_length(["body", "url"], url, URL_MAX).strip()
    await check_webhook_url(url, allow_private=settings.allow_private_urls, loc=["body", "url"])
    secrets = await secret_store.secrets_for(
        session, user.user_id, SecretBox.from_settings(settings)
    )
    event_id = new_event_id()
    body = encode_event(build_test_event(event_id=event_id, occurred_at=utcnow()))
    headers = headers_for(event_id, int(time.time()), body, secrets)
    async with safe_client(
        allow_private=settings.allow_private_urls, timeout=settings.webhook_timeout_seconds
    ) as client:
        result = await send_webhook(
            client,
            url,
            body,
            headers,
            timeout=settings.webhook_timeout_seconds,
            allow_private=settings.allow_private_urls,
        )
    if result.outcome == "refused":
        # Passed the pre-check but refused at connect time (the name now resolves
        # elsewhere): still the caller's URL that is at fault.
        raise ValidationFailed.field(["body", "url"], result.error or "URL refused")
    return TestResult(
        status_code=result.status_code,
        success=result.outcome == "success",
        error=result.error,
        duration_ms=result.duration_ms,
    )


async def list_task_deliveries(
    session: AsyncSession, task: Task, page: PageRequest
) -> DeliveryPage:
    """`task`'s deliveries, newest first: the caller has checked the task is theirs."""
    items, total = await fetch_entity_page(
        session,
        select(Delivery)
        .where(col(Delivery.task_id) == task.id)
        .order_by(col(Delivery.created_at).desc(), col(Delivery.id)),
        page,
    )
    return DeliveryPage(items=items, total=total)


async def attempts_by_delivery(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> list[list[DeliveryAttempt]]:
    """Attempts of each delivery (oldest first), in the order of `delivery_ids`: one query."""
    grouped: dict[uuid.UUID, list[DeliveryAttempt]] = {i: [] for i in delivery_ids}
    rows = await session.execute(
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id).in_(list(delivery_ids)))
        .order_by(col(DeliveryAttempt.delivery_id), col(DeliveryAttempt.attempt_number))
    )
    for attempt in rows.scalars():
        grouped[attempt.delivery_id].append(attempt)
    return [grouped[i] for i in delivery_ids]


async def redeliver(
    session: AsyncSession,
    user: Subject,
    delivery_id: uuid.UUID,
    *,
    lease_seconds: float,
    enqueue: Enqueue,
) -> Delivery:
    """Send the same event (same webhook-id, same body) again, as a new attempt series.

    The message is enqueued before the commit, while this transaction holds the row:
    a worker that picks it up at once waits for the commit, and if the commit fails
    the message's token does not match the row and it does nothing.
    """
    row = await lock_delivery(session, delivery_id)
    if row is None or row.user_id != user.user_id:
        raise NotFound(DELIVERY_NOT_FOUND)
    now = utcnow()
    row.status = DeliveryStatus.PENDING
    row.series_attempts = 0
    row.next_attempt_at = now
    row.updated_at = now
    stamp_enqueued(row, lease_seconds, now)
    await session.flush()
    try:
        await enqueue(row.id, row.attempt_count)
    except Exception as exc:
        raise Unavailable(QUEUE_UNAVAILABLE) from exc
    return row


async def check_channel_urls(notifications: Sequence[dict], *, allow_private: bool) -> None:
    """SSRF guard for a task's webhook channels at configuration time (422 per channel).

    A host that does not resolve now is accepted: DNS may be briefly down, and every
    delivery checks the resolved address again anyway.
    """
    errors = []
    for index, channel in enumerate(notifications):
        if channel.get("type") != "webhook":
            continue
        try:
            await check_url(str(channel.get("url", "")), allow_private=allow_private)
        except UnresolvableHost:
            continue
        except UnsafeURL as exc:
            errors.extend(ValidationFailed.field(["body", "notifications", index], str(exc)).errors)
    if errors:
        raise ValidationFailed(errors)
