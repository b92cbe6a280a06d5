"""The same webhook domain over /graphql, and the configuration-time SSRF check."""

from __future__ import annotations

import pytest
from fanout_helpers import make_condition_met

from torale.db import unit_of_work
from torale.errors import ValidationFailed
from torale.webhooks.fanout import create_deliveries
from torale.webhooks.service import check_channel_urls


async def _gql(client, account, query: str, variables: dict | None = None) -> dict:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=account.headers
    )
    assert response.status_code == 200
    return response.json()


async def test_secret_rotation_and_deliveries_over_graphql(client, make_account, db) -> None:
    account = await make_account()
    first = await _gql(client, account, "{ webhook_secret { secret previous_valid_until } }")
    secret = first["data"]["webhook_secret"]["secret"]
    rotated = await _gql(
        client, account, "mutation { rotate_webhook_secret { secret previous_valid_until } }"
    )
    assert rotated["data"]["rotate_webhook_secret"]["secret"] != secret
    assert rotated["data"]["rotate_webhook_secret"]["previous_valid_until"] is not None

    task_id, execution_id = await make_condition_met(
        db, account.user_id, [{"type": "email", "address": "me@example.com"}]
    )
    async with unit_of_work(db) as session:
        await create_deliveries(session, execution_id)
    query = """query($id: UUID!) { task_webhook_deliveries(task_id: $id) {
        total items { channel target status event attempts { attempt_number } } } }"""
    listed = await _gql(client, account, query, {"id": str(task_id)})
    page = listed["data"]["task_webhook_deliveries"]
    assert page["total"] == 1
    [item] = page["items"]
    assert item["event"]["type"] == "condition_met"
    assert item["event"]["data"]["execution_id"] == str(execution_id)
    assert {k: item[k] for k in ("channel", "target", "status", "attempts")} == {
        "channel": "EMAIL",
        "target": "me@example.com",
        "status": "PENDING",
        "attempts": [],
    }

    refused = await _gql(
        client, account, 'mutation { test_webhook(url: "http://10.0.0.1/") { status_code } }'
    )
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert "private address: 10.0.0.1" in error["message"]


async def test_channel_urls_are_checked_against_the_ssrf_guard() -> None:
    channels = [
        {"type": "email", "address": "me@example.com"},
        {"type": "webhook", "url": "http://169.254.169.254/latest"},
        {"type": "webhook", "url": "http://localhost/hook"},
        # Unresolvable now: accepted, the delivery checks again.
        {"type": "webhook", "url": "https://no-such-host.invalid/hook"},
    ]
    with pytest.raises(ValidationFailed) as refused:
        await check_channel_urls(channels, allow_private=False)
    assert [e["loc"] for e in refused.value.detail()] == [
        ["body", "notifications", 1],
        ["body", "notifications", 2],
    ]
    await check_channel_urls(channels, allow_private=True)
    await check_channel_urls(channels[3:], allow_private=False)
