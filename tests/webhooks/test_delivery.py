"""The delivery function on its own: one attempt per call against a real receiver."""

from __future__ import annotations

import uuid
from datetime import timedelta

import orjson
import pytest
from fanout_helpers import SOURCES, make_condition_met, make_user
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from webhook_receiver import Receiver

from torale.db import unit_of_work
from torale.executions.models import Execution
from torale.models_base import utcnow
from torale.net import safe_client
from torale.secret_box import SecretBox
from torale.tasks.models import Task
from torale.webhooks import secrets as secret_store
from torale.webhooks.delivery import DeliveryStep, deliver
from torale.webhooks.fanout import create_deliveries, event_id_for
from torale.webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookSecret


@pytest.fixture
async def http():
    async with safe_client(allow_private=True, timeout=5) as client:
        yield client


async def _deliveries(db, receiver_url: str | None = None, channels=None):
    user_id = await make_user(db)
    channels = channels or [{"type": "webhook", "url": receiver_url}]
    task_id, execution_id = await make_condition_met(db, user_id, channels)
    async with unit_of_work(db) as session:
        rows = await create_deliveries(session, execution_id)
    return user_id, task_id, execution_id, rows


async def _step(db, delivery_id, settings, http, token=None) -> DeliveryStep:
    async with unit_of_work(db) as session:
        return await deliver(session, delivery_id, settings=settings, http_client=http, token=token)


async def _attempts(db, delivery_id) -> list[DeliveryAttempt]:
    async with db() as session:
        rows = await session.execute(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.attempt_number)
        )
        return list(rows.scalars())


async def _row(db, model, key):
    async with db() as session:
        return await session.get(model, key)


async def test_condition_met_delivery_is_signed_with_the_spec_body(
    db, fanout_settings, http, receiver: Receiver
) -> None:
    user_id, task_id, execution_id, [row] = await _deliveries(db, receiver.url("/ok"))
    step = await _step(db, row.id, fanout_settings, http, token=0)
    assert step.status == DeliveryStatus.SUCCEEDED and step.retry_in is None

    [request] = receiver.requests
    async with db() as session:
        box = SecretBox.from_settings(fanout_settings)
        secret = (await secret_store.get_or_create(session, user_id, box)).secret
    event = Webhook(secret).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == event_id_for(execution_id) == event["id"]
    assert event["type"] == "condition_met"
    assert event["timestamp"] == "2026-09-09T17:01:00Z"
    assert event["data"] == {
        "task_id": str(task_id),
        "task_name": "iPhone release watch",
        "execution_id": str(execution_id),
        "search_query": "When is the next iPhone being released?",
        "condition_description": "Apple has announced a specific release date",
        "answer": "September 19, pre-orders on the 12th",
        "reasoning": "Apple's newsroom announced the date.",
        "change_summary": "Release date announced",
        "grounding_sources": SOURCES,
        "notify_behavior": "always",
        "current_state": None,
    }
    delivery = await _row(db, Delivery, row.id)
    assert delivery.status == "succeeded" and delivery.attempt_count == 1
    assert delivery.last_status_code == 200 and delivery.succeeded_at is not None
    [attempt] = await _attempts(db, row.id)
    assert (attempt.outcome, attempt.status_code, attempt.error) == ("success", 200, None)
    assert (await _row(db, Execution, execution_id)).notification_sent is True
    assert (await _row(db, Task, task_id)).last_notified_at is not None


async def test_500_twice_then_200_is_three_attempts_one_success_same_id(
    db, fanout_settings, http, receiver: Receiver
) -> None:
    _, _, execution_id, [row] = await _deliveries(db, receiver.url("/flaky"))
    first = await _step(db, row.id, fanout_settings, http, token=0)
    assert first.status == DeliveryStatus.PENDING
    assert first.retry_in is not None and 0.15 <= first.retry_in <= 0.25
    assert (await _row(db, Execution, execution_id)).notification_sent is False
    second = await _step(db, row.id, fanout_settings, http, token=first.token)
    third = await _step(db, row.id, fanout_settings, http, token=second.token)
    assert third.status == DeliveryStatus.SUCCEEDED
    # A duplicate message (same token, or any later one) never sends again.
    again = await _step(db, row.id, fanout_settings, http, token=second.token)
    later = await _step(db, row.id, fanout_settings, http)
    assert again.skipped and later.skipped == "already succeeded"

    assert receiver.paths() == ["/flaky"] * 3
    assert {r.headers["webhook-id"] for r in receiver.requests} == {event_id_for(execution_id)}
    assert len({r.body for r in receiver.requests}) == 1
    attempts = await _attempts(db, row.id)
    assert [(a.attempt_number, a.outcome, a.status_code) for a in attempts] == [
        (1, "retry", 500),
        (2, "retry", 500),
        (3, "success", 200),
    ]
    assert attempts[0].next_attempt_at is not None and attempts[2].next_attempt_at is None
    assert (await _row(db, Execution, execution_id)).notification_sent is True


async def test_a_stale_message_does_nothing(db, fanout_settings, http, receiver: Receiver) -> None:
    _, _, _, [row] = await _deliveries(db, receiver.url("/ok"))
    step = await _step(db, row.id, fanout_settings, http, token=3)
    assert step.skipped == "stale message"
    assert receiver.requests == []


async def test_a_timeout_is_retried(db, fanout_settings, http, receiver: Receiver) -> None:
    settings = fanout_settings.model_copy(update={"webhook_timeout_seconds": 0.3})
    _, _, _, [row] = await _deliveries(db, receiver.url("/slow"))
    step = await _step(db, row.id, settings, http, token=0)
    assert step.status == DeliveryStatus.PENDING and step.retry_in is not None
    [attempt] = await _attempts(db, row.id)
    assert attempt.outcome == "retry" and attempt.status_code is None
    assert attempt.error == "Timed out after 0.3s"
    assert 250 <= attempt.duration_ms < 2000


async def test_410_gone_stops_retrying(db, fanout_settings, http, receiver: Receiver) -> None:
    _, _, execution_id, [row] = await _deliveries(db, receiver.url("/gone"))
    step = await _step(db, row.id, fanout_settings, http, token=0)
    assert step.status == DeliveryStatus.GONE and step.retry_in is None
    assert (await _step(db, row.id, fanout_settings, http)).skipped == "already gone"
    assert receiver.paths() == ["/gone"]
    [attempt] = await _attempts(db, row.id)
    assert (attempt.outcome, attempt.status_code) == ("gone", 410)
    assert (await _row(db, Execution, execution_id)).notification_sent is False


async def test_a_301_is_a_failure_and_the_schedule_runs_out(
    db, fanout_settings, http, receiver: Receiver
) -> None:
    settings = fanout_settings.model_copy(update={"webhook_retry_schedule": "0.1"})
    _, _, _, [row] = await _deliveries(db, receiver.url("/redirect"))
    first = await _step(db, row.id, settings, http, token=0)
    assert first.status == DeliveryStatus.PENDING
    last = await _step(db, row.id, settings, http, token=first.token)
    assert last.status == DeliveryStatus.FAILED and last.retry_in is None
    # The redirect is never followed.
    assert receiver.paths() == ["/redirect", "/redirect"]
    attempts = await _attempts(db, row.id)
    assert [(a.outcome, a.status_code) for a in attempts] == [("retry", 301), ("failed", 301)]
    assert "redirect" in attempts[0].error


async def test_retry_after_pushes_the_next_attempt_later(
    db, fanout_settings, http, receiver: Receiver
) -> None:
    _, _, _, [row] = await _deliveries(db, receiver.url("/busy"))
    step = await _step(db, row.id, fanout_settings, http, token=0)
    assert step.retry_in is not None and step.retry_in >= 120
    delivery = await _row(db, Delivery, row.id)
    assert delivery.next_attempt_at > utcnow() + timedelta(seconds=100)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:{port}/ok", "http://localhost:{port}/ok", "http://169.254.169.254/x"],
)
async def test_ssrf_guard_refuses_at_delivery_time(
    db, fanout_settings, receiver: Receiver, url: str
) -> None:
    settings = fanout_settings.model_copy(update={"allow_private_urls": False})
    _, _, _, [row] = await _deliveries(db, url.format(port=receiver.port))
    async with safe_client(allow_private=False, timeout=2) as guarded:
        step = await _step(db, row.id, settings, guarded, token=0)
    assert step.status == DeliveryStatus.FAILED and step.retry_in is None
    [attempt] = await _attempts(db, row.id)
    assert attempt.outcome == "refused"
    assert "TORALE_ALLOW_PRIVATE_URLS" in attempt.error
    assert receiver.requests == []


async def test_rotation_signs_with_both_secrets_during_the_grace_period(
    db, fanout_settings, http, receiver: Receiver
) -> None:
    user_id, _, _, [row] = await _deliveries(db, receiver.url("/flaky"))
    box = SecretBox.from_settings(fanout_settings)
    async with unit_of_work(db) as session:
        old = (await secret_store.get_or_create(session, user_id, box)).secret
    async with unit_of_work(db) as session:
        new = (await secret_store.rotate(session, user_id, box, 3600)).secret
    assert new != old and new.startswith("whsec_")

    first = await _step(db, row.id, fanout_settings, http, token=0)
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request.body, request.headers)
    Webhook(new).verify(request.body, request.headers)

    # Once the grace period is over only the new secret signs.
    async with unit_of_work(db) as session:
        await session.execute(
            update(WebhookSecret)
            .where(WebhookSecret.user_id == user_id)
            .values(previous_valid_until=utcnow() - timedelta(seconds=1))
        )
    await _step(db, row.id, fanout_settings, http, token=first.token)
    request = receiver.requests[-1]
    Webhook(new).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers)


async def test_fan_out_is_idempotent_one_delivery_per_channel(db, receiver: Receiver) -> None:
    channels = [
        {"type": "webhook", "url": receiver.url("/ok"), "headers": {"X-Team": "ops"}},
        {"type": "email", "address": "me@example.com"},
    ]
    _, _, execution_id, rows = await _deliveries(db, channels=channels)
    assert sorted(r.channel for r in rows) == ["email", "webhook"]
    assert {r.event_id for r in rows} == {event_id_for(execution_id)}
    webhook = next(r for r in rows if r.channel == "webhook")
    assert webhook.headers == {"X-Team": "ops"}
    assert orjson.loads(webhook.body)["data"]["execution_id"] == str(execution_id)

    async with unit_of_work(db) as session:
        again = await create_deliveries(session, execution_id)
    assert sorted(r.id for r in again) == sorted(r.id for r in rows)
    async with db() as session:
        count = len(
            (
                await session.execute(select(Delivery).where(Delivery.execution_id == execution_id))
            ).all()
        )
    assert count == 2


async def test_fan_out_ignores_an_execution_that_did_not_meet_its_condition(
    db, receiver: Receiver
) -> None:
    user_id = await make_user(db)
    _, execution_id = await make_condition_met(
        db, user_id, [{"type": "webhook", "url": receiver.url("/ok")}], condition_met=False
    )
    async with unit_of_work(db) as session:
        assert await create_deliveries(session, execution_id) == []
        assert await create_deliveries(session, uuid.uuid4()) == []
