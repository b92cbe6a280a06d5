"""Schedules and workflows read from Temporal itself, on a private dev server.

A server of our own makes the listings exact: it holds only what this module made.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import pytest
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleSpec,
    WorkflowExecutionStatus,
)

from tests.helpers import (
    asgi_client,
    eventually,
    running_app,
    start_private_temporal,
    task_body,
)
from torale.admin.temporal import WorkflowStatus

UI = "http://temporal-ui.test:8233"
THROWAWAY_QUEUE = f"admin-test-{uuid.uuid4()}"


def test_workflow_status_is_the_sdks_set_of_run_statuses():
    # Listed by hand so that it is a type: an SDK that adds a status must fail here,
    # not as an unknown enum value in an admin listing.
    assert {s.name: s.value for s in WorkflowStatus} == {
        s.name: s.name.lower() for s in WorkflowExecutionStatus
    }


@pytest.fixture(scope="module")
async def private_temporal():
    env = await start_private_temporal()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="module")
async def temporal_app(settings, private_temporal):
    address = private_temporal.client.service_client.config.target_host
    # A trailing slash on the configured base must not double up in the links.
    async with running_app(settings, temporal_address=address, temporal_ui_url=UI + "/") as app:
        yield app


@pytest.fixture
async def http(temporal_app):
    async with asgi_client(temporal_app) as client:
        yield client


async def _listing(http, path: str, headers, **params) -> dict:
    response = await http.get(path, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_schedules_listed_with_owner_state_and_runs(
    http, make_account, private_temporal, sql
):
    admin = await make_account(admin=True)
    alice = await make_account("alice@example.com")
    bob = await make_account("bob@example.com")

    async def create(account, **fields) -> str:
        created = await http.post(
            "/api/v1/tasks", json=task_body(**fields), headers=account.headers
        )
        assert created.status_code == 201, created.text
        return created.json()["id"]

    a1 = await create(alice)
    a2 = await create(alice, schedule="30 6 * * 1", timezone="Europe/Paris")
    b1 = await create(bob)
    # A schedule that is not a task's: listed, with no owner.
    client = private_temporal.client
    await client.create_schedule(
        "maintenance-job",
        Schedule(
            action=ScheduleActionStartWorkflow("Nothing", id="maint", task_queue=THROWAWAY_QUEUE),
            spec=ScheduleSpec(cron_expressions=["0 3 * * *"]),
        ),
    )
    # b1 fires once now, so it has a recent run (no worker: the workflow stays running).
    await client.get_schedule_handle(f"task-{b1}").trigger()
    deactivated = await http.patch(
        f"/admin/users/{alice.user_id}/deactivate", headers=admin.headers
    )
    assert deactivated.json()["tasks_paused"] == 2

    def settled(body: dict) -> bool:
        items = {i["schedule_id"]: i for i in body["items"]}
        b1_item = items.get(f"task-{b1}")
        return (
            body["total"] == 4
            and len(items) == 4
            and b1_item is not None
            and len(b1_item["recent_executions"]) == 1
            and items[f"task-{a1}"]["is_paused"]
        )

    body = await eventually(
        lambda: _listing(http, "/admin/temporal/schedules", admin.headers), settled
    )
    assert settled(body), body
    assert body["page"] == 1 and body["limit"] == 50
    items = {i["schedule_id"]: i for i in body["items"]}

    paris = items[f"task-{a2}"]
    assert paris["task_id"] == a2 and paris["user_email"] == "alice@example.com"
    assert paris["cron"] == "30 6 * * 1" and paris["timezone"] == "Europe/Paris"
    assert paris["is_paused"] is True and paris["next_run_time"] is None
    assert paris["note"] == "Task paused: owner deactivated"
    assert paris["temporal_ui_url"] == f"{UI}/namespaces/default/schedules/task-{a2}"

    running = items[f"task-{b1}"]
    assert running["user_email"] == "bob@example.com" and running["is_paused"] is False
    assert running["cron"] == "0 9 * * *" and running["timezone"] == "UTC"
    next_run = datetime.fromisoformat(running["next_run_time"].replace("Z", "+00:00"))
    assert (next_run.hour, next_run.minute) == (9, 0)
    (run,) = running["recent_executions"]
    assert run["workflow_id"].startswith(f"execution-task-{b1}-")
    assert run["run_id"] and run["started_at"].endswith("Z")

    other = items["maintenance-job"]
    assert other["task_id"] is None and other["user_email"] is None
    assert other["cron"] is None and other["is_paused"] is False

    # Pages split the same listing without overlap.
    pages = [
        await _listing(http, "/admin/temporal/schedules", admin.headers, limit=3, page=p)
        for p in (1, 2, 3)
    ]
    seen = [i["schedule_id"] for page in pages for i in page["items"]]
    assert [len(p["items"]) for p in pages] == [3, 1, 0]
    assert sorted(seen) == sorted(items) and all(p["total"] == 4 for p in pages)

    # GraphQL reads the same thing.
    graphql = await http.post(
        "/graphql",
        json={"query": "{ admin_temporal_schedules(limit: 1) { total items { schedule_id } } }"},
        headers=admin.headers,
    )
    assert graphql.json()["data"]["admin_temporal_schedules"]["total"] == 4


async def test_workflows_listed_newest_first_with_status_and_duration(
    http, make_account, private_temporal
):
    admin = await make_account(admin=True)
    client = private_temporal.client
    before = (await client.count_workflows()).count
    # Nothing polls the throwaway queue: one run stays running, the other is ended by us.
    ended = await client.start_workflow(
        "Probe", id=f"probe-ended-{uuid.uuid4()}", task_queue=THROWAWAY_QUEUE
    )
    await asyncio.sleep(0.05)
    await ended.terminate("done with it")
    live = await client.start_workflow(
        "Probe", id=f"probe-live-{uuid.uuid4()}", task_queue=THROWAWAY_QUEUE
    )

    body = await eventually(
        lambda: _listing(http, "/admin/temporal/workflows", admin.headers),
        lambda b: (
            b["total"] == before + 2
            and {live.id, ended.id} <= {i["workflow_id"] for i in b["items"]}
            and any(i["status"] == "terminated" for i in b["items"])
        ),
    )
    assert body["total"] == before + 2
    items = {i["workflow_id"]: i for i in body["items"]}
    running, terminated = items[live.id], items[ended.id]
    assert running["status"] == "running" and running["workflow_type"] == "Probe"
    assert running["close_time"] is None and running["execution_duration_ms"] is None
    assert running["task_queue"] == THROWAWAY_QUEUE
    assert running["temporal_ui_url"] == (
        f"{UI}/namespaces/default/workflows/{live.id}/{live.result_run_id}"
    )
    assert terminated["status"] == "terminated" and terminated["close_time"].endswith("Z")
    assert terminated["execution_duration_ms"] >= 0
    assert terminated["start_time"] <= terminated["close_time"]
    # Newest first among runs still going (Temporal puts open runs before closed ones).
    open_runs = [i["workflow_id"] for i in body["items"] if i["status"] == "running"]
    assert open_runs[0] == live.id

    described = await client.get_workflow_handle(live.id).describe()
    assert described.status == WorkflowExecutionStatus.RUNNING

    first = await _listing(http, "/admin/temporal/workflows", admin.headers, limit=1, page=1)
    second = await _listing(http, "/admin/temporal/workflows", admin.headers, limit=1, page=2)
    assert len(first["items"]) == len(second["items"]) == 1
    assert first["items"][0]["workflow_id"] != second["items"][0]["workflow_id"]
    assert first["total"] == body["total"]
    beyond = await _listing(
        http, "/admin/temporal/workflows", admin.headers, limit=100, page=body["total"] + 1
    )
    assert beyond["items"] == [] and beyond["total"] == body["total"]
