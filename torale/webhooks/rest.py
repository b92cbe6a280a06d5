"""REST for webhooks (SPEC §7): each handler runs one GraphQL operation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from torale.http.deps import Operations, RestContext
from torale.http.params import PageLimit, PageNumber
from torale.http.responses import JSONBody, PageOut

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


class WebhookSecretOut(BaseModel):
    secret: str
    previous_valid_until: datetime | None = None
    created_at: datetime
    rotated_at: datetime | None = None


class WebhookTestIn(BaseModel):
    url: str = Field(min_length=1, max_length=2048)


class WebhookTestOut(BaseModel):
    status_code: int | None
    success: bool
    error: str | None
    duration_ms: int


class DeliveryAttemptOut(BaseModel):
    id: uuid.UUID
    attempt_number: int
    outcome: str
    status_code: int | None
    error: str | None
    duration_ms: int
    next_attempt_at: datetime | None
    created_at: datetime


class DeliveryOut(BaseModel):
    id: uuid.UUID
    execution_id: uuid.UUID | None
    task_id: uuid.UUID
    channel: str
    target: str
    event_id: str
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    succeeded_at: datetime | None
    attempts: list[DeliveryAttemptOut]


@router.get("/webhooks/secret", response_model=WebhookSecretOut, summary="Your signing secret")
async def get_secret(ctx: RestContext, ops: Operations) -> JSONBody:
    return JSONBody((await ops.run("WebhookSecret", ctx))["webhook_secret"])


@router.post(
    "/webhooks/secret/rotate",
    response_model=WebhookSecretOut,
    summary="Rotate your signing secret (the old one signs too during a grace period)",
)
async def rotate_secret(ctx: RestContext, ops: Operations) -> JSONBody:
    return JSONBody((await ops.run("RotateWebhookSecret", ctx))["rotate_webhook_secret"])


@router.post("/webhooks/test", response_model=WebhookTestOut, summary="Send a signed test event")
async def test_webhook(body: WebhookTestIn, ctx: RestContext, ops: Operations) -> JSONBody:
    return JSONBody((await ops.run("TestWebhook", ctx, {"url": body.url}))["test_webhook"])


@router.get(
    "/tasks/{task_id}/webhook-deliveries",
    response_model=PageOut[DeliveryOut],
    summary="A task's notification deliveries with their attempts",
)
async def task_deliveries(
    task_id: uuid.UUID,
    ctx: RestContext,
    ops: Operations,
    page: int = PageNumber,
    limit: int = PageLimit,
) -> JSONBody:
    variables: dict[str, Any] = {"task_id": str(task_id), "page": page, "limit": limit}
    data = await ops.run("TaskWebhookDeliveries", ctx, variables)
    return JSONBody(data["task_webhook_deliveries"])


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send a delivery's event again (same webhook-id)",
)
async def redeliver(delivery_id: uuid.UUID, ctx: RestContext, ops: Operations) -> JSONBody:
    data = await ops.run("RedeliverWebhook", ctx, {"id": str(delivery_id)})
    return JSONBody(data["redeliver_webhook"], status_code=202)
