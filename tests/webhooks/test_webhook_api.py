"""SPEC §7 endpoints over REST: secret, rotate, test events, the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from fanout_helpers import make_condition_met
from sqlalchemy import event
from standardwebhooks.webhooks import Webhook
from webhook_receiver import Receiver

from tests.helpers import asgi_client, running_app
from torale.db import unit_of_work
from torale.net import safe_client
from torale.webhooks.delivery import deliver
from torale.webhooks.fanout import create_deliveries


@pytest.fixture(scope="module")
async def private_app(settings):
    """The API with private addresses allowed, so it can reach the local receiver."""
    async with running_app(settings, allow_private_urls=True) as application:
        yield application


@pytest.fixture
async def private_client(private_app):
    async with asgi_client(private_app) as http:
        yield http


async def test_secret_is_created_on_first_use_and_then_stable(client, make_account) -> None:
    account = await make_account()
    first = await client.get("/api/v1/webhooks/secret", headers=account.headers)
    assert first.status_code == 200
    secret = first.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    again = await client.get("/api/v1/webhooks/secret", headers=account.headers)
    assert again.json()["secret"] == secret
    other = await make_account()
    theirs = await client.get("/api/v1/webhooks/secret", headers=other.headers)
    assert theirs.json()["secret"] != secret


async def test_secret_requires_authentication(client) -> None:
    response = await client.get("/api/v1/webhooks/secret")
    assert response.status_code == 401


async def test_rotate_returns_a_new_secret_with_a_grace_period(
    client, make_account, settings
) -> None:
    account = await make_account()
    old = (await client.get("/api/v1/webhooks/secret", headers=account.headers)).json()["secret"]
    rotated = await client.post("/api/v1/webhooks/secret/rotate", headers=account.headers)
    assert rotated.status_code == 200
    body = rotated.json()
    assert body["secret"] != old and body["secret"].startswith("whsec_")
    until = datetime.fromisoformat(body["previous_valid_until"].replace("Z", "+00:00"))
    rotated_at = datetime.fromisoformat(body["rotated_at"].replace("Z", "+00:00"))
    assert until - rotated_at == timedelta(seconds=settings.webhook_secret_grace_seconds)
    current = await client.get("/api/v1/webhooks/secret", headers=account.headers)
    assert current.json()["secret"] == body["secret"]


async def test_test_event_is_signed_and_reports_the_status(
    private_client, make_account, receiver: Receiver
) -> None:
    account = await make_account()
    secret = (await private_client.get("/api/v1/webhooks/secret", headers=account.headers)).json()[
        "secret"
    ]
    ok = await private_client.post(
        "/api/v1/webhooks/test", json={"url": receiver.url("/ok")}, headers=account.headers
    )
    assert ok.status_code == 200
    assert ok.json()["status_code"] == 200 and ok.json()["success"] is True
    [request] = receiver.requests
    event = Webhook(secret).verify(request.body, request.headers)
    assert event["type"] == "test" and request.headers["webhook-id"] == event["id"]

    failing = await private_client.post(
        "/api/v1/webhooks/test", json={"url": receiver.url("/fail")}, headers=account.headers
    )
    assert failing.status_code == 200
    assert failing.json() | {"duration_ms": 0} == {
        "status_code": 500,
        "success": False,
        "error": "HTTP 500",
        "duration_ms": 0,
    }


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://127.0.0.1/hook", "loopback address: 127.0.0.1"),
        ("http://169.254.169.254/latest/meta-data", "cloud metadata endpoint"),
        ("http://10.0.0.1/hook", "private address: 10.0.0.1"),
        ("http://localhost:8080/hook", "loopback address: localhost"),
        ("ftp://example.com/hook", "URL must use http or https"),
    ],
)
async def test_test_event_refuses_private_urls_by_default(
    client, make_account, url: str, fragment: str
) -> None:
    account = await make_account()
    response = await client.post(
        "/api/v1/webhooks/test", json={"url": url}, headers=account.headers
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "url"]
    assert fragment in error["msg"]


async def test_deliveries_list_with_attempts_in_one_query(
    client, make_account, resources, db, fanout_settings, receiver: Receiver
) -> None:
    account = await make_account()
    channels = [
        {"type": "webhook", "url": receiver.url("/flaky")},
        {"type": "webhook", "url": receiver.url("/gone")},
        {"type": "webhook", "url": receiver.url("/ok")},
    ]
    task_id, execution_id = await make_condition_met(db, account.user_id, channels)
    async with unit_of_work(db) as session:
        rows = await create_deliveries(session, execution_id)
    async with safe_client(allow_private=True) as http:
        for row in rows:
            async with unit_of_work(db) as session:
                await deliver(session, row.id, settings=fanout_settings, http_client=http)

    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    engine = resources.request_engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = await client.get(
            f"/api/v1/tasks/{task_id}/webhook-deliveries", headers=account.headers
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    page = response.json()
    assert (page["total"], page["page"], page["limit"]) == (3, 1, 20)
    by_target = {item["target"]: item for item in page["items"]}
    flaky = by_target[receiver.url("/flaky")]
    assert flaky["status"] == "pending" and flaky["attempt_count"] == 1
    [attempt] = flaky["attempts"]
    assert attempt["status_code"] == 500 and attempt["next_attempt_at"] is not None
    assert by_target[receiver.url("/gone")]["status"] == "gone"
    assert by_target[receiver.url("/ok")]["status"] == "succeeded"
    assert by_target[receiver.url("/ok")]["attempts"][0]["outcome"] == "success"
    assert sum("FROM delivery_attempts" in s for s in statements) == 1

    second = await client.get(
        f"/api/v1/tasks/{task_id}/webhook-deliveries?page=2&limit=2", headers=account.headers
    )
    assert len(second.json()["items"]) == 1 and second.json()["total"] == 3
    too_big = await client.get(
        f"/api/v1/tasks/{task_id}/webhook-deliveries?limit=101", headers=account.headers
    )
    assert too_big.status_code == 422


async def test_deliveries_and_redelivery_are_owner_only(
    client, make_account, db, receiver: Receiver
) -> None:
    owner, stranger = await make_account(), await make_account()
    task_id, execution_id = await make_condition_met(
        db, owner.user_id, [{"type": "webhook", "url": receiver.url("/ok")}]
    )
    async with unit_of_work(db) as session:
        [row] = await create_deliveries(session, execution_id)

    listed = await client.get(
        f"/api/v1/tasks/{task_id}/webhook-deliveries", headers=stranger.headers
    )
    assert listed.status_code == 403
    assert listed.json() == {"detail": "Not authorized to access this task"}
    missing = await client.get(
        f"/api/v1/tasks/{uuid.uuid4()}/webhook-deliveries", headers=owner.headers
    )
    assert missing.status_code == 404 and missing.json() == {"detail": "Task not found"}

    for who, delivery_id in ((stranger, row.id), (owner, uuid.uuid4())):
        response = await client.post(
            f"/api/v1/webhook-deliveries/{delivery_id}/redeliver", headers=who.headers
        )
        assert response.status_code == 404
        assert response.json() == {"detail": "Delivery not found"}
