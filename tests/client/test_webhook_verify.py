"""`torale.webhooks.verify` on events signed by the server's own signing code
(`torale.webhooks.signing`), the bytes and headers a delivery sends."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from torale import webhooks
from torale.webhooks.signing import (
    build_condition_met_event,
    encode_event,
    generate_secret,
    headers_for,
)

OLD, NEW = generate_secret(), generate_secret()


def delivery(*secrets: str, at: float | None = None) -> tuple[bytes, dict[str, str]]:
    event = build_condition_met_event(
        event_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        task_id=uuid.uuid4(),
        task_name="iPhone release",
        execution_id=uuid.uuid4(),
        search_query="When is the next iPhone being released?",
        condition_description="Apple has announced a specific release date",
        answer="September 19.",
        reasoning="The newsroom says so.",
        change_summary=None,
        grounding_sources=[{"uri": "https://www.apple.com/newsroom", "title": "Newsroom"}],
        notify_behavior="once",
    )
    body = encode_event(event)
    timestamp = int(at if at is not None else time.time())
    return body, headers_for(event["id"], timestamp, body, list(secrets))


def test_a_condition_met_event_comes_back_typed():
    body, headers = delivery(NEW)
    event = webhooks.verify(body, headers, NEW)
    assert isinstance(event, webhooks.ConditionMetEvent)
    assert event.data.task_name == "iPhone release" and event.data.answer == "September 19."
    assert event.data.grounding_sources[0].uri == "https://www.apple.com/newsroom"
    assert event.id == headers["webhook-id"]


def test_during_a_rotation_either_secret_verifies():
    body, headers = delivery(NEW, OLD)  # the server signs with both during the grace period
    for secrets in ([OLD], [NEW], [generate_secret(), OLD]):
        assert webhooks.verify(body, headers, secrets).type == "condition_met"


@pytest.mark.parametrize(
    "spoil",
    [
        lambda body, headers: (body + b" ", headers),
        lambda body, headers: (body, {**headers, "webhook-id": "another"}),
        lambda body, headers: (
            body,
            {k: v for k, v in headers.items() if k != "webhook-signature"},
        ),
        lambda body, headers: (body, {**headers, "webhook-signature": "garbage"}),
    ],
    ids=["tampered body", "other id", "no signature", "malformed signature"],
)
def test_anything_else_is_refused(spoil):
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify(*spoil(*delivery(NEW)), NEW)


def test_a_wrong_secret_or_a_stale_timestamp_is_refused():
    body, headers = delivery(NEW)
    with pytest.raises(webhooks.WebhookVerificationError, match="No matching signature"):
        webhooks.verify(body, headers, OLD)
    stale_body, stale = delivery(NEW, at=time.time() - 3600)
    with pytest.raises(webhooks.WebhookVerificationError, match="too old"):
        webhooks.verify(stale_body, stale, NEW)
    with pytest.raises(webhooks.WebhookVerificationError, match="no webhook secret"):
        webhooks.verify(body, headers, [])
