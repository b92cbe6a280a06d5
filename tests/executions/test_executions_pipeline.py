"""The execution pipeline end to end: API → Temporal → worker → providers → database."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from tests.executions.execution_helpers import (
    CHAT,
    SEARCH,
    evaluation,
    eventually,
)
from torale.executions.models import Execution
from torale.monitoring.changes import INITIAL_SUMMARY


async def test_manual_execute_runs_and_stores_the_answer(started_task, llm, searx):
    async with started_task(
        evaluation(
            False,
            answer="Apple has not announced a date.",
            reasoning="Only an event was announced.",
            state={"release_date": None},
        )
    ) as (stack, account, task):
        execution_id = await stack.execute(account.headers, task["id"])
        done = await stack.finished(account.headers, task["id"], execution_id)

        assert done["status"] == "success", done
        assert done["trigger"] == "manual" and done["attempt"] == 1
        assert done["condition_met"] is False
        assert done["result"] == {
            "answer": "Apple has not announced a date.",
            "reasoning": "Only an event was announced.",
            "condition_met": False,
            "sources_count": 2,
        }
        assert [s["uri"] for s in done["grounding_sources"]] == [
            "https://www.apple.com/newsroom/iphone",
            "https://news.example.org/iphone-date",
        ]
        assert done["grounding_sources"][0]["title"] == "Apple Newsroom"
        assert done["change_summary"] == INITIAL_SUMMARY
        assert done["error_message"] is None and done["notification_sent"] is False
        assert done["started_at"] <= done["completed_at"]
        assert done["created_at"].endswith("Z")

        # The search ran for the task's query, and its hits reached the LLM as evidence.
        assert searx.requests_to(SEARCH)[0].query["q"] == [task["search_query"]]
        prompt = llm.requests_to(CHAT)[0].json()["messages"][1]["content"]
        assert "Release on September 19." in prompt

        after = await stack.task(account.headers, task["id"])
        assert after["last_execution_id"] == execution_id
        assert after["last_known_state"] == {"release_date": None}
        assert after["condition_met"] is False and after["state"] == "active"
        row = await stack.row(execution_id)
        assert row.notification_due is False and row.workflow_id == f"execution-{execution_id}"


async def test_execute_is_for_the_owner_only(make_stack, make_account):
    owner, other = await make_account(), await make_account()
    async with make_stack() as stack:
        task = await stack.create_task(owner.headers, is_public=True)
        path = f"/api/v1/tasks/{task['id']}/execute"
        refused = await stack.http.post(path, headers=other.headers)
        assert refused.status_code == 403
        assert refused.json() == {"detail": "Not authorized to access this task"}
        missing = await stack.http.post(
            f"/api/v1/tasks/{uuid.uuid4()}/execute", headers=owner.headers
        )
        assert missing.status_code == 404 and missing.json() == {"detail": "Task not found"}
        assert (await stack.http.post(path)).status_code == 401
        async with stack.resources.session_factory() as session:
            rows = (await session.execute(select(Execution))).scalars().all()
        assert rows == []


async def test_execute_runs_a_paused_task_without_changing_its_state(started_task):
    async with started_task(evaluation(False)) as (stack, account, task):
        await stack.http.put(
            f"/api/v1/tasks/{task['id']}", json={"state": "paused"}, headers=account.headers
        )
        done = await stack.run(account.headers, task["id"])
        assert done["status"] == "success"
        assert (await stack.task(account.headers, task["id"]))["state"] == "paused"


async def _sole_success(stack, account, task) -> dict:
    """The task's one execution, once it has succeeded (runs the test did not start)."""
    path = f"/api/v1/tasks/{task['id']}/executions"
    listing = await eventually(
        lambda: stack.http.get(path, headers=account.headers),
        lambda r: r.json()["total"] == 1 and r.json()["items"][0]["status"] == "success",
    )
    return listing.json()["items"][0]


async def test_run_immediately_starts_the_first_execution(started_task):
    async with started_task(evaluation(False), run_immediately=True) as (stack, account, task):
        execution = await _sole_success(stack, account, task)
        assert execution["trigger"] == "immediate"
        assert (await stack.task(account.headers, task["id"]))["last_execution_id"] == execution[
            "id"
        ]


async def test_without_run_immediately_nothing_runs(make_stack, make_account, llm):
    account = await make_account()
    async with make_stack() as stack:
        task = await stack.create_task(account.headers)
        listing = await stack.http.get(
            f"/api/v1/tasks/{task['id']}/executions", headers=account.headers
        )
        assert listing.json()["total"] == 0
        assert llm.requests == []


async def test_scheduled_run_creates_its_own_execution(started_task):
    async with started_task(
        evaluation(True, answer="September 19", state={"date": "09-19"}), notify_behavior="always"
    ) as (stack, account, task):
        assert await stack.resources.scheduler.trigger(uuid.UUID(task["id"]))
        execution = await _sole_success(stack, account, task)
        assert execution["trigger"] == "schedule"
        assert execution["result"]["answer"] == "September 19"
        row = await stack.row(execution["id"])
        assert row.workflow_id.startswith(f"execution-task-{task['id']}")
        assert row.notification_due is True and row.notification_sent is False
