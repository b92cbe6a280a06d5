"""The e-mail channel: a condition_met delivery received by a local SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from fanout_helpers import make_condition_met, make_user
from sqlalchemy import select

from tests.smtp_inbox import Inbox, smtp_server
from torale.db import unit_of_work
from torale.executions.models import Execution
from torale.net import safe_client
from torale.webhooks.delivery import SMTP_NOT_CONFIGURED, deliver
from torale.webhooks.fanout import create_deliveries, event_id_for
from torale.webhooks.models import DeliveryAttempt, DeliveryStatus


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


async def _email_delivery(db, address: str):
    user_id = await make_user(db)
    _, execution_id = await make_condition_met(db, user_id, [{"type": "email", "address": address}])
    async with unit_of_work(db) as session:
        [row] = await create_deliveries(session, execution_id)
    return execution_id, row


async def _deliver(db, row, settings):
    async with safe_client(allow_private=True) as http, unit_of_work(db) as session:
        return await deliver(session, row.id, settings=settings, http_client=http, token=0)


def _smtp_settings(settings, port: int):
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": "none",
            "smtp_sender": "Torale <alerts@torale.test>",
            "public_url": "https://torale.example",
        }
    )


async def test_email_is_received_with_the_answer_reasoning_changes_and_sources(
    db, fanout_settings, smtp
) -> None:
    inbox, port = smtp
    execution_id, row = await _email_delivery(db, "me@example.com")
    step = await _deliver(db, row, _smtp_settings(fanout_settings, port))
    assert step.status == DeliveryStatus.SUCCEEDED

    [(_, recipients, message)] = inbox.messages
    assert recipients == ["me@example.com"]
    assert message["Subject"] == "Torale: condition met — iPhone release watch"
    assert message["Message-ID"] == f"<{event_id_for(execution_id)}@torale>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for expected in (
        "September 19, pre-orders on the 12th",
        "Apple's newsroom announced the date.",
        "Release date announced",
        "https://www.apple.com/newsroom/",
        f"https://torale.example/api/v1/tasks/{row.task_id}",
    ):
        assert expected in text
    assert "iPhone &lt;17&gt; &amp; friends" in html
    async with db() as session:
        assert (await session.get(Execution, execution_id)).notification_sent is True


async def test_a_refused_recipient_fails_without_retrying(db, fanout_settings, smtp) -> None:
    _, port = smtp
    _, row = await _email_delivery(db, "nobody@example.com")
    step = await _deliver(db, row, _smtp_settings(fanout_settings, port))
    assert step.status == DeliveryStatus.FAILED and step.retry_in is None


async def test_an_unreachable_smtp_server_is_retried(db, fanout_settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    _, row = await _email_delivery(db, "me@example.com")
    step = await _deliver(db, row, _smtp_settings(fanout_settings, closed_port))
    assert step.status == DeliveryStatus.PENDING and step.retry_in is not None


async def test_email_without_smtp_configured_fails_with_an_actionable_error(
    db, fanout_settings
) -> None:
    _, row = await _email_delivery(db, "me@example.com")
    step = await _deliver(db, row, fanout_settings)
    assert step.status == DeliveryStatus.FAILED
    async with db() as session:
        [attempt] = (
            await session.execute(
                select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == row.id)
            )
        ).scalars()
    assert attempt.error == SMTP_NOT_CONFIGURED


async def test_task_failing_and_recovered_reach_an_email_channel(db, fanout_settings, smtp) -> None:
    from torale.tasks import health
    from torale.tasks.models import Task

    inbox, port = smtp
    user_id = await make_user(db)
    task_id, execution_id = await make_condition_met(
        db, user_id, [{"type": "email", "address": "ops@example.com"}]
    )
    async with unit_of_work(db) as session:
        task = await session.get(Task, task_id, with_for_update=True)
        execution = await session.get(Execution, execution_id)
        task.failure_threshold = 1
        execution.error_message, execution.error_type = "Search <down>", "provider_unavailable"
        [failing] = await health.record_failure(session, task, execution)
        # A second failure while failing is counted, not announced.
        assert await health.record_failure(session, task, execution) == []
        [recovered] = await health.record_success(session, task, execution_id)
    settings = _smtp_settings(fanout_settings, port)
    for row in (failing, recovered):
        assert (await _deliver(db, row, settings)).status == DeliveryStatus.SUCCEEDED

    (_, _, failing_mail), (_, _, recovered_mail) = inbox.messages
    assert failing_mail["Subject"] == "Torale: task failing — iPhone release watch"
    text = failing_mail.get_body(("plain",)).get_content()
    assert "is failing: 1 execution failed in a row" in text
    assert "Latest error: Search <down>" in text
    assert "Search &lt;down&gt;" in failing_mail.get_body(("html",)).get_content()
    assert f"https://torale.example/api/v1/tasks/{task_id}" in text
    assert recovered_mail["Subject"] == "Torale: task recovered — iPhone release watch"
    recovered_text = recovered_mail.get_body(("plain",)).get_content()
    assert "after 2 failed executions (failing since" in recovered_text
    async with db() as session:
        # Health events are not condition_met notifications.
        assert (await session.get(Execution, execution_id)).notification_sent is False
        assert (await session.get(Task, task_id)).last_notified_at is None
