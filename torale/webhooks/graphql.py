"""GraphQL for webhooks: the signing secret, test events, a task's delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from torale.config import Settings
from torale.graphql.context import ToraleContext
from torale.graphql.enums import AttemptOutcome, ChannelType, DeliveryEventType, DeliveryStatus
from torale.graphql.types import Info, Page, from_row, page_of
from torale.pagination import DEFAULT_LIMIT, PageRequest
from torale.tasks import service as tasks
from torale.webhooks import service
from torale.webhooks.models import Delivery, DeliveryAttempt

_LOADER_ATTR = "_webhook_attempts_loader"


def attempts_loader(context: ToraleContext) -> DataLoader[uuid.UUID, list[DeliveryAttempt]]:
    """One batched query for the attempts of every delivery a request shows."""
    loader = getattr(context, _LOADER_ATTR, None)
    if loader is None:

        async def load(ids: list[uuid.UUID]) -> list[list[DeliveryAttempt]]:
            return await service.attempts_by_delivery(context.session, ids)

        loader = DataLoader(load_fn=load)
        setattr(context, _LOADER_ATTR, loader)
    return loader


@strawberry.type(name="WebhookSecret")
class WebhookSecretType:
    secret: str = strawberry.field(description="whsec_...: verify signatures with it")
    previous_valid_until: datetime | None = strawberry.field(
        description="After a rotation, the old secret also signs until then"
    )
    created_at: datetime
    rotated_at: datetime | None


@strawberry.type(name="WebhookTestResult")
class WebhookTestResultType:
    status_code: int | None = strawberry.field(description="The receiver's HTTP status")
    success: bool
    error: str | None
    duration_ms: int


@strawberry.type(name="DeliveryAttempt")
class DeliveryAttemptType:
    id: uuid.UUID
    attempt_number: int
    outcome: AttemptOutcome = strawberry.field(
        description="success, retry, gone, refused or failed; in_progress while it is "
        "being sent, interrupted when the worker stopped before recording its outcome"
    )
    status_code: int | None
    error: str | None
    duration_ms: int
    next_attempt_at: datetime | None = strawberry.field(description="When the next try is due")
    created_at: datetime


@strawberry.type(name="WebhookDelivery", description="One event to one channel of a task")
class DeliveryType:
    id: uuid.UUID
    execution_id: uuid.UUID | None
    task_id: uuid.UUID
    channel: ChannelType = strawberry.field(description="webhook or email")
    target: str = strawberry.field(description="The URL or e-mail address")
    event_id: str = strawberry.field(description="The webhook-id, the same on every attempt")
    event_type: DeliveryEventType
    status: DeliveryStatus = strawberry.field(description="pending, succeeded, failed or gone")
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    succeeded_at: datetime | None
    # The row itself: the event is parsed from its stored bytes only when asked for.
    row: strawberry.Private[Delivery]

    @classmethod
    def of(cls, row: Delivery) -> DeliveryType:
        return from_row(cls, row, row=row)

    @strawberry.field(description="The event body sent")
    def event(self) -> JSON:
        return JSON(self.row.event)

    @strawberry.field(description="Every attempt, oldest first")
    async def attempts(self, info: Info) -> list[DeliveryAttemptType]:
        rows = await attempts_loader(info.context).load(self.id)
        return [from_row(DeliveryAttemptType, row) for row in rows]


def _settings(info: Info) -> Settings:
    return info.context.resources.settings


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Your webhook signing secret (created on first use)")
    async def webhook_secret(self, info: Info) -> WebhookSecretType | None:
        ctx = info.context
        secret = await service.get_secret(ctx.session, ctx.subject, _settings(info))
        return from_row(WebhookSecretType, secret)

    @strawberry.field(description="A task's notification deliveries, newest first")
    async def task_webhook_deliveries(
        self, info: Info, task_id: uuid.UUID, page: int = 1, limit: int = DEFAULT_LIMIT
    ) -> Page[DeliveryType] | None:
        ctx = info.context
        # Ownership is the tasks domain's to decide (404 for anyone else's task).
        task = await tasks.get_owned_task(ctx.session, ctx.subject, task_id)
        found = await service.list_task_deliveries(ctx.session, task, PageRequest(page, limit))
        return page_of(DeliveryType.of, found.items, total=found.total, page=page, limit=limit)


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="A new signing secret; the old one signs during a grace period"
    )
    async def rotate_webhook_secret(self, info: Info) -> WebhookSecretType:
        ctx = info.context
        secret = await service.rotate_secret(ctx.session, ctx.subject, _settings(info))
        return from_row(WebhookSecretType, secret)

    @strawberry.mutation(description="Send a signed test event to a URL now")
    async def test_webhook(self, info: Info, url: str) -> WebhookTestResultType:
        ctx = info.context
        result = await service.send_test_event(ctx.session, ctx.subject, url, _settings(info))
        return from_row(WebhookTestResultType, result)

    @strawberry.mutation(description="Send a delivery's event again (same webhook-id)")
    async def redeliver_webhook(self, info: Info, id: uuid.UUID) -> DeliveryType:
        ctx = info.context
        settings = _settings(info)
        row = await service.redeliver(
            ctx.session,
            ctx.subject,
            id,
            lease_seconds=settings.delivery_lease_seconds,
            enqueue=ctx.resources.enqueue_delivery,
        )
        return DeliveryType.of(row)
