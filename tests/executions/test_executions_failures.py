"""Provider failures, retries, nothing configured, and the hand-off to the fan-out."""

from __future__ import annotations

import dataclasses
import uuid

from tests.executions.execution_helpers import (
    CHAT,
    FAST,
    SEARCH,
    evaluation,
    eventually,
    script_search,
)
from tests.monitoring.monitoring_peer import Reply, chat_reply
from torale.db import unit_of_work
from torale.executions.models import Execution
from torale.webhooks.models import Delivery

BAD_KEY = Reply(401, {"error": {"message": "Incorrect API key provided"}})
UNAVAILABLE = Reply(503, {"error": {"message": "service unavailable"}})


async def test_auth_failure_fails_at_once_with_a_readable_message(started_task, llm):
    async with started_task(BAD_KEY) as (stack, account, task):
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "failed"
        assert done["attempt"] == 1 and len(llm.requests) == 1  # not retried
        assert "HTTP 401" in done["error_message"]
        assert "Incorrect API key provided" in done["error_message"]
        assert done["error_type"] == "provider_auth"
        assert done["completed_at"] is not None and done["result"] is None
        after = await stack.task(account.headers, task["id"])
        assert after["last_execution_id"] == done["id"] and after["state"] == "active"


async def test_server_error_is_retried_and_the_attempt_recorded(started_task):
    async with started_task(
        Reply(500, {"error": {"message": "overloaded"}}), evaluation(False, answer="Not yet.")
    ) as (stack, account, task):
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "success" and done["attempt"] == 2
        assert done["result"]["answer"] == "Not yet." and done["error_message"] is None


async def test_a_rate_limited_provider_is_retried_after_its_retry_after_capped(
    make_stack, make_account, llm, searx
):
    script_search(searx)
    llm.script(
        "POST",
        CHAT,
        Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "2"}),
        # An hour is more than the retry policy's maximum interval: capped to it.
        Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "3600"}),
        evaluation(False, answer="Not yet."),
    )
    account = await make_account()
    # The policy alone would wait 0.1 s before the first retry.
    patient = dataclasses.replace(FAST, retry_maximum_seconds=3.0)
    async with make_stack(tuning=patient) as stack:
        task = await stack.create_task(account.headers)
        done = await stack.run(account.headers, task["id"])
    assert done["status"] == "success" and done["attempt"] == 3
    first, second, _third = llm.requests_to(CHAT)
    assert second.received_at - first.received_at >= 1.9


async def test_lasting_outage_fails_after_three_attempts(started_task, llm):
    async with started_task(UNAVAILABLE) as (stack, account, task):
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "failed" and done["attempt"] == 3
        assert len(llm.requests) == 3
        assert done["error_type"] == "provider_unavailable"
        assert "HTTP 503" in done["error_message"]


async def test_malformed_llm_reply_is_a_readable_failure(started_task):
    async with started_task(chat_reply("I think the answer is yes!")) as (stack, account, task):
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "failed"
        assert done["error_type"] == "invalid_llm_response"
        assert "JSON" in done["error_message"]


async def test_search_failure_is_reported(make_stack, make_account, llm, searx):
    searx.script("GET", SEARCH, Reply(403, "Forbidden"))
    account = await make_account()
    async with make_stack() as stack:
        task = await stack.create_task(account.headers)
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "failed"
        assert "SearXNG" in done["error_message"] and "403" in done["error_message"]
        assert llm.requests == []


async def test_nothing_configured_fails_fast_naming_the_variables(make_stack, make_account):
    account = await make_account()
    async with make_stack(providers=False) as stack:
        task = await stack.create_task(account.headers)
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "failed" and done["attempt"] == 1
        assert done["error_type"] == "not_configured"
        assert "TORALE_LLM_BASE_URL" in done["error_message"]
        assert "TORALE_LLM_MODEL" in done["error_message"]


# A channel nothing listens on: no Dramatiq worker runs here, only the hand-off is seen.
CHANNELS = [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]


async def test_due_notification_is_handed_to_the_fan_out_after_commit(
    make_stack, make_account, llm, searx
):
    script_search(searx)
    llm.script("POST", CHAT, evaluation(True))
    handed: list[tuple[uuid.UUID, bool, bool, bool]] = []

    async def enqueue(delivery_id: uuid.UUID, token: int) -> None:
        # Called with the committed rows: a fresh session already sees them.
        async with unit_of_work(stack.resources.session_factory) as session:
            delivery = await session.get(Delivery, delivery_id)
            row = await session.get(Execution, delivery.execution_id)
            handed.append(
                (
                    row.id,
                    row.status == "success",
                    row.notification_due,
                    delivery.status == "pending",
                )
            )

    account = await make_account()
    async with make_stack(deliveries=enqueue) as stack:
        met = await stack.create_task(
            account.headers, notify_behavior="always", notifications=CHANNELS
        )
        done = await stack.run(account.headers, met["id"])
        assert done["status"] == "success"

        async def calls() -> int:
            return len(handed)

        await eventually(calls, lambda n: n >= 1, within=5)
        assert handed == [(uuid.UUID(done["id"]), True, True, True)]
        # Sent is the fan-out's to set, once a delivery succeeded.
        assert done["notification_sent"] is False

        llm.script("POST", CHAT, evaluation(False))
        quiet = await stack.run(account.headers, met["id"])
        await eventually(
            lambda: stack.http.get(f"/api/v1/tasks/{met['id']}", headers=account.headers),
            lambda r: r.json()["last_execution_id"] == quiet["id"],
        )
        assert len(handed) == 1


async def test_failing_fan_out_leaves_the_execution_successful_and_due(
    make_stack, make_account, llm, searx
):
    script_search(searx)
    llm.script("POST", CHAT, evaluation(True))
    refused: list[uuid.UUID] = []

    async def enqueue(delivery_id: uuid.UUID, token: int) -> None:
        refused.append(delivery_id)
        raise RuntimeError("broker down")

    account = await make_account()
    async with make_stack(deliveries=enqueue) as stack:
        task = await stack.create_task(
            account.headers, notify_behavior="always", notifications=CHANNELS
        )
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "success" and done["error_message"] is None
        await eventually(lambda: _count(refused), lambda n: n >= 1, within=5)
        row = await stack.row(done["id"])
        assert row.notification_due is True and row.notification_sent is False


async def _count(items: list) -> int:
    return len(items)


async def test_real_fan_out_records_a_delivery_per_channel(make_stack, make_account, llm, searx):
    from sqlalchemy import select

    from torale.webhooks.models import Delivery

    script_search(searx)
    llm.script("POST", CHAT, evaluation(True, answer="September 19"))
    account = await make_account()
    async with make_stack() as stack:
        task = await stack.create_task(
            account.headers,
            notify_behavior="always",
            notifications=[{"type": "webhook", "url": "https://hooks.example.com/torale"}],
        )
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "success"

        async def deliveries() -> list[Delivery]:
            async with stack.resources.session_factory() as session:
                rows = await session.execute(
                    select(Delivery).where(Delivery.execution_id == uuid.UUID(done["id"]))
                )
                return list(rows.scalars())

        (delivery,) = await eventually(deliveries, lambda rows: len(rows) == 1, within=10)
        assert delivery.target == "https://hooks.example.com/torale"
