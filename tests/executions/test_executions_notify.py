"""notify_behavior over sequences of executions (SPEC §6) and the notification hand-off."""

from __future__ import annotations

import uuid

from tests.executions.execution_helpers import change, evaluation
from torale.monitoring.changes import INITIAL_SUMMARY, NO_CHANGE_SUMMARY


async def test_once_notifies_the_first_time_then_completes_the_task(started_task):
    async with started_task(
        evaluation(False, state={"date": None}),
        evaluation(True, answer="September 19", state={"date": "2026-09-19"}),
        notify_behavior="once",
    ) as (stack, account, task):
        first = await stack.run(account.headers, task["id"])
        assert first["status"] == "success" and first["condition_met"] is False
        assert (await stack.row(first["id"])).notification_due is False
        middle = await stack.task(account.headers, task["id"])
        assert middle["state"] == "active" and middle["last_notified_at"] is None

        second = await stack.run(account.headers, task["id"])
        assert second["status"] == "success" and second["condition_met"] is True
        assert (await stack.row(second["id"])).notification_due is True
        done = await stack.task(account.headers, task["id"])
        assert done["state"] == "completed" and done["condition_met"] is True
        assert done["next_run_at"] is None
        # No channel delivered anything: last_notified_at only follows real deliveries.
        assert done["last_notified_at"] is None
        assert await stack.resources.scheduler.describe(uuid.UUID(task["id"])) is None


async def test_always_notifies_on_every_met_condition(started_task):
    async with started_task(
        evaluation(True, state={"stock": "in"}),
        evaluation(True, state={"stock": "in"}),
        evaluation(False, state={"stock": "out"}),
        notify_behavior="always",
    ) as (stack, account, task):
        runs = [await stack.run(account.headers, task["id"]) for _ in range(3)]
        assert [r["condition_met"] for r in runs] == [True, True, False]
        assert [(await stack.row(r["id"])).notification_due for r in runs] == [True, True, False]
        assert runs[1]["change_summary"] == NO_CHANGE_SUMMARY
        after = await stack.task(account.headers, task["id"])
        assert after["state"] == "active" and after["condition_met"] is False
        assert after["last_known_state"] == {"stock": "out"}
        # Due at the first two runs, not the third (whose condition was not met); the
        # task has no channels, so nothing was delivered and last_notified_at stays unset.
        task_row = await stack.task_row(task["id"])
        assert task_row.last_notified_at is None


async def test_track_state_notifies_only_on_a_change(started_task, llm):
    async with started_task(
        evaluation(True, state={"price": "$499"}),
        # Same facts, other spelling: equal canonical hashes, so the LLM is not asked.
        evaluation(True, state={"Price": " $499 "}),
        evaluation(True, state={"price": "$449"}),
        change(True, "Price dropped from $499 to $449"),
        notify_behavior="track_state",
    ) as (stack, account, task):
        first = await stack.run(account.headers, task["id"])
        assert first["change_summary"] == INITIAL_SUMMARY
        second = await stack.run(account.headers, task["id"])
        assert second["change_summary"] == NO_CHANGE_SUMMARY
        assert len(llm.requests) == 2
        third = await stack.run(account.headers, task["id"])
        assert third["change_summary"] == "Price dropped from $499 to $449"
        assert len(llm.requests) == 4
        compare_prompt = llm.requests[3].json()["messages"][1]["content"]
        assert "$499" in compare_prompt and "$449" in compare_prompt

        due = [(await stack.row(r["id"])).notification_due for r in (first, second, third)]
        assert due == [True, False, True]
        after = await stack.task(account.headers, task["id"])
        assert after["last_known_state"] == {"price": "$449"} and after["state"] == "active"


async def test_track_state_without_the_condition_met_does_not_notify(started_task):
    async with started_task(
        evaluation(False, state={"price": "$499"}), notify_behavior="track_state"
    ) as (stack, account, task):
        first = await stack.run(account.headers, task["id"])
        assert first["change_summary"] == INITIAL_SUMMARY
        assert (await stack.row(first["id"])).notification_due is False
