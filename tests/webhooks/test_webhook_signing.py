from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime

import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from torale.webhooks.signing import (
    build_condition_met_event,
    build_test_event,
    encode_event,
    generate_secret,
    headers_for,
    sign,
)


def _event() -> dict:
    return build_condition_met_event(
        event_id="3f1c2d8e-0000-4000-8000-000000000001",
        occurred_at=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
        task_id=uuid.UUID("11111111-1111-4111-8111-111111111111"),
        task_name="iPhone release — “date”",
        execution_id=uuid.UUID("22222222-2222-4222-8222-222222222222"),
        search_query="When is the next iPhone being released?",
        condition_description="Apple has announced a specific release date",
        answer="September 19",
        reasoning="Apple's newsroom says so.",
        change_summary="Initial execution - no previous state to compare",
        grounding_sources=[{"uri": "https://apple.com/newsroom", "title": "Newsroom"}],
        notify_behavior="once",
    )


def test_generated_secret_has_prefix_and_enough_entropy() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_") :])) >= 24
    assert generate_secret() != secret


def test_signature_verifies_with_standardwebhooks() -> None:
    secret = generate_secret()
    body = encode_event(_event())
    now = int(time.time())
    headers = headers_for("msg-1", now, body, [secret])
    assert headers["webhook-id"] == "msg-1"
    assert headers["webhook-timestamp"] == str(now)
    assert headers["content-type"] == "application/json"
    assert Webhook(secret).verify(body, headers)["type"] == "condition_met"


def test_signature_matches_independent_implementation_exactly() -> None:
    secret = generate_secret()
    ts = 1_700_000_000
    body = b'{"a":"\xc3\xa9"}'
    expected = Webhook(secret).sign("msg-2", datetime.fromtimestamp(ts, UTC), body.decode())
    assert sign(secret, "msg-2", ts, body) == expected


def test_rotation_carries_one_signature_per_secret() -> None:
    old, new, other = generate_secret(), generate_secret(), generate_secret()
    body = encode_event(_event())
    headers = headers_for("msg-3", int(time.time()), body, [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)


def test_tampered_body_fails_verification() -> None:
    secret = generate_secret()
    body = encode_event(_event())
    headers = headers_for("msg-4", int(time.time()), body, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"September", b"October"), headers)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("abc", "must start with 'whsec_'"),
        ("whsec_", "empty"),
        ("whsec_***", "not valid base64"),
    ],
)
def test_bad_secrets_are_rejected_clearly(secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sign(secret, "msg", 1, b"{}")


def test_signing_needs_a_secret_and_a_dot_free_id() -> None:
    with pytest.raises(ValueError, match="At least one webhook secret"):
        headers_for("msg", 1, b"{}", [])
    with pytest.raises(ValueError, match="may not contain"):
        sign(generate_secret(), "a.b", 1, b"{}")


def test_condition_met_body_shape() -> None:
    event = orjson.loads(encode_event(_event()))
    assert event["type"] == "condition_met"
    assert event["id"] == "3f1c2d8e-0000-4000-8000-000000000001"
    assert event["timestamp"] == "2026-03-01T12:30:00Z"
    assert set(event["data"]) == {
        "task_id",
        "task_name",
        "execution_id",
        "search_query",
        "condition_description",
        "answer",
        "reasoning",
        "change_summary",
        "grounding_sources",
        "notify_behavior",
        "current_state",
    }
    assert event["data"]["task_id"] == "11111111-1111-4111-8111-111111111111"
    assert event["data"]["task_name"] == "iPhone release — “date”"
    assert event["data"]["grounding_sources"][0]["uri"] == "https://apple.com/newsroom"


def test_encoding_is_canonical_and_stable() -> None:
    body = encode_event(_event())
    assert body == encode_event(_event())
    assert body.startswith(b'{"data":{"answer":"September 19","change_summary":')
    assert "—".encode() in body  # UTF-8, not \u escapes


def test_test_event_and_naive_timestamps() -> None:
    event = build_test_event(event_id="e1", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert event["type"] == "test"
    assert event["timestamp"] == "2026-01-01T00:00:00Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        build_test_event(event_id="e1", occurred_at=datetime(2026, 1, 1))
