"""Verify a webhook Torale sent, on the receiver's side.

    from torale.client import webhooks   # also reachable as `torale.webhooks.verify`

    event = webhooks.verify(request_body, request_headers, [current_secret, old_secret])
    if isinstance(event, webhooks.ConditionMetEvent):
        print(event.data.task_name, event.data.answer)

Signatures follow Standard Webhooks (checked with the `standardwebhooks` library): the
HMAC of `{webhook-id}.{webhook-timestamp}.{body}` under your `whsec_` secret, with a
timestamp no more than 5 minutes off. During a secret rotation Torale signs with both
secrets, and a receiver may hold both: `secret` takes one secret or several.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError as PydanticValidationError
from standardwebhooks import Webhook
from standardwebhooks import WebhookVerificationError as _LibraryVerificationError

from torale.client.errors import ToraleError
from torale.client.models import GroundingSource, Model


class WebhookVerificationError(ToraleError, ValueError):
    """The request is not a genuine, fresh Torale webhook: answer it with 400."""


class ConditionMetData(Model):
    task_id: str
    task_name: str
    execution_id: str
    search_query: str
    condition_description: str
    answer: str | None
    reasoning: str | None
    change_summary: str | None
    grounding_sources: list[GroundingSource]
    notify_behavior: str


class ConditionMetEvent(Model):
    type: Literal["condition_met"]
    id: str
    timestamp: datetime
    data: ConditionMetData


class TestEvent(Model):
    """Sent by `POST /api/v1/webhooks/test`."""

    __test__ = False  # not a pytest test class
    type: Literal["test"]
    id: str
    timestamp: datetime
    data: dict[str, Any]


class Event(Model):
    """An event of a type this client does not know yet."""

    type: str
    id: str
    timestamp: datetime
    data: Any = None


def verify(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
) -> ConditionMetEvent | TestEvent | Event:
    """The verified event; `WebhookVerificationError` when no secret's signature matches,
    a header is missing, the timestamp is stale, or the body is not a Torale event."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise WebhookVerificationError("no webhook secret given")
    plain_headers = {str(k): str(v) for k, v in headers.items()}
    payload: Any = None
    failure = "No matching signature found"
    for candidate in secrets:
        try:
            payload = Webhook(candidate).verify(body, plain_headers)
            break
        except _LibraryVerificationError as exc:
            failure = str(exc)
        except (ValueError, binascii.Error):
            # A malformed signature or secret: not a match, whatever the other secrets say.
            failure = "Malformed webhook signature or secret"
    else:
        raise WebhookVerificationError(failure)
    return parse_event(payload)


def parse_event(payload: Any) -> ConditionMetEvent | TestEvent | Event:
    kind = payload.get("type") if isinstance(payload, dict) else None
    models: dict[str, type[ConditionMetEvent | TestEvent]] = {
        "condition_met": ConditionMetEvent,
        "test": TestEvent,
    }
    model: type[ConditionMetEvent | TestEvent | Event] = models.get(kind or "", Event)
    try:
        return model.model_validate(payload)
    except PydanticValidationError as exc:
        raise WebhookVerificationError(f"not a Torale event: {exc.errors()[0]['msg']}") from None
