"""REST for webhooks (SPEC §7): each handler runs one GraphQL operation."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import Field

from torale.http.bodies import StrictBody, documented
from torale.http.deps import RestCall
from torale.http.handlers import operation_answer, task_page
from torale.http.openapi import runs
from torale.http.responses import JSONBody
from torale.tasks.inputs import WEBHOOK_URL_SCHEMA
from torale.tasks.service import NOT_AUTHORIZED, TASK_NOT_FOUND

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


class WebhookTestIn(StrictBody):
    url: str = Field(json_schema_extra=documented(WEBHOOK_URL_SCHEMA))


router.get(
    "/webhooks/secret", **runs("WebhookSecret"), summary="Your signing secret", name="get_secret"
)(operation_answer)
router.post(
    "/webhooks/secret/rotate",
    **runs("RotateWebhookSecret"),
    summary="Rotate your signing secret (the old one signs too during a grace period)",
    name="rotate_secret",
)(operation_answer)


@router.post("/webhooks/test", **runs("TestWebhook"), summary="Send a signed test event")
async def test_webhook(body: WebhookTestIn, call: RestCall) -> JSONBody:
    return JSONBody(await call.run({"url": body.url}))


router.get(
    "/tasks/{task_id}/webhook-deliveries",
    **runs("TaskWebhookDeliveries", {403: NOT_AUTHORIZED, 404: TASK_NOT_FOUND}),
    summary="A task's notification deliveries with their attempts",
    name="task_deliveries",
)(task_page)


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    status_code=202,
    **runs("RedeliverWebhook", {403: NOT_AUTHORIZED, 404: "Delivery not found"}),
    summary="Send a delivery's event again (same webhook-id)",
)
async def redeliver(delivery_id: uuid.UUID, call: RestCall) -> JSONBody:
    return JSONBody(await call.run({"id": str(delivery_id)}), status_code=202)
