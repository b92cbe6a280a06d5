"""Task health (issue 15, item 1): task_failing after N failed runs in a row, once;
task_recovered at the next success; signed and delivered like condition_met."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator

from standardwebhooks.webhooks import Webhook

from tests.executions.execution_helpers import CHAT, evaluation, eventually, script_search
from tests.monitoring.monitoring_peer import Reply
from tests.webhooks.fanout_fixtures import own_broker, running_worker
from tests.webhooks.webhook_receiver import Receiver, running_receiver
from torale.webhooks import queue
from torale.webhooks.models import Delivery

AUTH_FAILURE = Reply(401, {"error": {"message": "Incorrect API key provided"}})


@contextlib.contextmanager
def delivering(settings) -> Iterator[None]:
    """An in-process Dramatiq worker on the broker of `settings` (a namespace of its own:
    the stack's Temporal worker enqueues there)."""
    options = queue.BrokerOptions.from_settings(settings)
    with own_broker(settings.redis_url, options) as broker, running_worker(broker, settings):
        yield


async def _events(stack, task_id: str) -> list[Delivery]:
    return await stack.rows_of_task(Delivery, task_id)


def _received(receiver: Receiver, secret: str) -> list[dict]:
    """Every request the receiver got, its signature checked with the user's secret."""
    verifier = Webhook(secret)
    events = [verifier.verify(r.body, r.headers) for r in receiver.requests]
    # At least once: a repeat carries the same webhook-id; count each event once.
    return list({event["id"]: event for event in events}.values())


async def test_failing_once_after_the_threshold_then_recovered(
    make_stack, make_account, llm, searx
):
    script_search(searx)
    llm.script(
        "POST", CHAT, AUTH_FAILURE, AUTH_FAILURE, AUTH_FAILURE, evaluation(False, answer="Not yet")
    )
    account = await make_account()
    with running_receiver() as receiver:
        namespace = f"torale-test-{uuid.uuid4().hex[:8]}"
        async with make_stack(dramatiq_namespace=namespace) as stack:
            with delivering(stack.settings):
                task = await stack.create_task(
                    account.headers,
                    notify_behavior="always",
                    failure_threshold=2,
                    notifications=[{"type": "webhook", "url": receiver.url("/hook")}],
                )
                assert task["failure_threshold"] == 2 and task["failing_since"] is None
                secret = (
                    await stack.http.get("/api/v1/webhooks/secret", headers=account.headers)
                ).json()["secret"]

                first = await stack.run(account.headers, task["id"])
                assert first["status"] == "failed"
                after_one = await stack.task(account.headers, task["id"])
                assert after_one["consecutive_failures"] == 1
                assert after_one["failing_since"] is None
                assert await _events(stack, task["id"]) == []

                second = await stack.run(account.headers, task["id"])
                failing = await stack.task(account.headers, task["id"])
                assert failing["consecutive_failures"] == 2
                assert failing["failing_since"] is not None
                await eventually(lambda: _events(stack, task["id"]), lambda d: len(d) == 1)
                await eventually(
                    lambda: _received_async(receiver),
                    lambda n: n >= 1,
                    within=45,
                    what="task_failing",
                )

                # Still failing: counted, but not announced again.
                await stack.run(account.headers, task["id"])
                still = await stack.task(account.headers, task["id"])
                assert still["consecutive_failures"] == 3
                assert still["failing_since"] == failing["failing_since"]

                recovered = await stack.run(account.headers, task["id"])
                assert recovered["status"] == "success"
                healthy = await stack.task(account.headers, task["id"])
                assert healthy["consecutive_failures"] == 0 and healthy["failing_since"] is None
                await eventually(
                    lambda: _received_async(receiver),
                    lambda n: n >= 2,
                    within=45,
                    what="task_recovered",
                )

                # The receiver answers before the worker records the outcome.
                rows = await eventually(
                    lambda: _events(stack, task["id"]),
                    lambda found: all(r.status == "succeeded" for r in found),
                )
                assert [r.event_type for r in rows] == ["task_failing", "task_recovered"]
                log = await stack.http.get(
                    f"/api/v1/tasks/{task['id']}/webhook-deliveries", headers=account.headers
                )
                assert sorted(d["event_type"] for d in log.json()["items"]) == [
                    "task_failing",
                    "task_recovered",
                ]

    failing_event, recovered_event = _received(receiver, secret)
    assert failing_event["type"] == "task_failing"
    assert failing_event["data"] == {
        "task_id": task["id"],
        "task_name": task["name"],
        "search_query": task["search_query"],
        "execution_id": second["id"],
        "consecutive_failures": 2,
        "failure_threshold": 2,
        "error_message": second["error_message"],
        "error_type": "provider_auth",
        "failing_since": failing["failing_since"],
    }
    assert recovered_event["type"] == "task_recovered"
    assert recovered_event["data"]["execution_id"] == recovered["id"]
    assert recovered_event["data"]["failed_executions"] == 3
    assert recovered_event["data"]["failing_since"] == failing["failing_since"]
    # A health event does not count as a condition_met notification.
    assert healthy["last_notified_at"] is None
    assert json.loads(receiver.requests[0].body)["id"] == receiver.requests[0].headers["webhook-id"]


def _update_vars(query: str, task_id: str, threshold: int) -> dict:
    return {"query": query, "variables": {"id": task_id, "input": {"failure_threshold": threshold}}}


async def _received_async(receiver: Receiver) -> int:
    return len({r.headers["webhook-id"] for r in receiver.requests})


async def test_threshold_is_set_and_checked_through_graphql_and_rest(client, make_account):
    account = await make_account()
    create = """mutation($input: CreateTaskInput!) {
      create_task(input: $input) { id failure_threshold consecutive_failures failing_since }
    }"""
    body = {
        "search_query": "When is the next iPhone being released?",
        "condition_description": "Apple has announced a specific release date",
        "schedule": "0 9 * * *",
    }
    made = await client.post(
        "/graphql",
        json={"query": create, "variables": {"input": {**body, "failure_threshold": 5}}},
        headers=account.headers,
    )
    created = made.json()["data"]["create_task"]
    assert created["failure_threshold"] == 5 and created["consecutive_failures"] == 0
    default = await client.post("/api/v1/tasks", json=body, headers=account.headers)
    assert default.json()["failure_threshold"] == 3

    update = """mutation($id: UUID!, $input: UpdateTaskInput!) {
      update_task(id: $id, input: $input) { failure_threshold }
    }"""
    changed = await client.post(
        "/graphql",
        json=_update_vars(update, created["id"], 1),
        headers=account.headers,
    )
    assert changed.json()["data"]["update_task"]["failure_threshold"] == 1
    refused = await client.post(
        "/graphql",
        json=_update_vars(update, created["id"], 0),
        headers=account.headers,
    )
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["detail"][0]["loc"] == ["body", "failure_threshold"]

    for bad in (0, 101):
        response = await client.put(
            f"/api/v1/tasks/{created['id']}",
            json={"failure_threshold": bad},
            headers=account.headers,
        )
        assert response.status_code == 422
        assert response.json()["detail"] == [
            {
                "loc": ["body", "failure_threshold"],
                "msg": "Must be a whole number from 1 to 100",
                "type": "value_error",
            }
        ]
    put = await client.put(
        f"/api/v1/tasks/{created['id']}", json={"failure_threshold": 7}, headers=account.headers
    )
    assert put.status_code == 200 and put.json()["failure_threshold"] == 7
    # JSON has one number type: 8.0 is the whole number 8 (found by the fuzzer).
    put = await client.put(
        f"/api/v1/tasks/{created['id']}", json={"failure_threshold": 8.0}, headers=account.headers
    )
    assert put.status_code == 200 and put.json()["failure_threshold"] == 8


async def test_rest_refuses_thresholds_graphql_int_cannot_carry(client, make_account):
    account = await make_account()
    body = {
        "search_query": "When is the next iPhone being released?",
        "condition_description": "Apple has announced a specific release date",
        "schedule": "0 9 * * *",
    }
    for bad in (6_469_693_229, True, "5", 2.5):
        response = await client.post(
            "/api/v1/tasks", json={**body, "failure_threshold": bad}, headers=account.headers
        )
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"] == [
            {
                "loc": ["body", "failure_threshold"],
                "msg": "Must be a whole number from 1 to 100",
                "type": "value_error",
            }
        ]
