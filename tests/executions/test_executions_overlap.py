"""One run at a time per task, and no execution left `running` after its workflow ended."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from tests.executions.execution_helpers import (
    CHAT,
    FAST,
    evaluation,
    eventually,
    script_search,
    start_worker,
)
from torale.db import unit_of_work
from torale.executions.liveness import (
    WORKFLOW_ENDED_TYPE,
    ended_message,
    sweep_stale_executions,
)
from torale.executions.models import Execution, ExecutionStatus, ExecutionTrigger
from torale.models_base import utcnow
from torale.scheduling.constants import execution_workflow_id
from torale.webhooks.queue import DeliveryProducer
from workers.execution_activities import ExecutionActivities
from workers.execution_steps import EXECUTION_FINISHED, EvaluateInput
from workers.execution_workflow import BUSY_MESSAGE


def slow(seconds: float, **kwargs):
    reply = evaluation(**kwargs)
    reply.delay = seconds
    return reply


@contextlib.asynccontextmanager
async def _in_progress(started_task, llm, seconds: float, *then):
    """A run of a new task, `running` and spending `seconds` in its LLM call (replies
    `then` after it): (stack, account, task, execution id)."""
    async with started_task(slow(seconds, condition_met=False), *then) as (stack, account, task):
        execution_id = await stack.execute(account.headers, task["id"])

        async def chat_requests():
            return llm.requests_to(CHAT)

        # `running` is written by the claim, before `evaluate` starts; the LLM request
        # is sent only after `evaluate` committed its attempt and let go of the row
        # lock (a lock the sweep's SKIP LOCKED would skip the row for).
        await eventually(lambda: stack.row(execution_id), lambda r: r.status == "running")
        await eventually(chat_requests, bool, what="the LLM call")
        yield stack, account, task, execution_id


async def _executions(stack, task_id: str) -> list[Execution]:
    return await stack.rows_of_task(Execution, task_id)


async def test_second_manual_run_is_refused_while_one_is_in_progress(started_task, llm):
    running = _in_progress(started_task, llm, 1.0, evaluation(False))
    async with running as (stack, account, task, first):
        refused = await stack.http.post(
            f"/api/v1/tasks/{task['id']}/execute", headers=account.headers
        )
        assert refused.status_code == 409
        assert refused.json() == {"detail": "An execution of this task is already in progress"}
        assert (await stack.finished(account.headers, task["id"], first))["status"] == "success"
        # Once it is over, the next run is accepted.
        again = await stack.run(account.headers, task["id"])
        assert again["status"] == "success"
        assert len(await _executions(stack, task["id"])) == 2


async def test_schedule_tick_during_a_manual_run_is_skipped(started_task, llm):
    running = _in_progress(started_task, llm, 1.5, evaluation(False))
    async with running as (stack, account, task, manual):
        assert await stack.resources.scheduler.trigger(uuid.UUID(task["id"]))
        done = await stack.finished(account.headers, task["id"], manual)
        assert done["status"] == "success"
        # Give the skipped tick time to have (not) written anything.
        await asyncio.sleep(1.0)
        rows = await _executions(stack, task["id"])
        assert [r.trigger for r in rows] == ["manual"]
        assert len(llm.requests) == 1


async def test_manual_run_waits_for_a_scheduled_run_in_progress(started_task):
    async with started_task(slow(1.0, condition_met=False), evaluation(False)) as (
        stack,
        account,
        task,
    ):
        task_id = uuid.UUID(task["id"])
        assert await stack.resources.scheduler.trigger(task_id)
        scheduled = (
            await eventually(
                lambda: _executions(stack, task["id"]),
                lambda rows: len(rows) == 1 and rows[0].status == "running",
            )
        )[0]
        # The race the API cannot see: a manual run started while the tick runs.
        async with unit_of_work(stack.resources.session_factory) as session:
            manual = Execution(task_id=task_id, trigger=ExecutionTrigger.MANUAL)
            manual.workflow_id = execution_workflow_id(manual.id)
            session.add(manual)
        await stack.resources.scheduler.start_execution(task_id, manual.id)

        done = await stack.finished(account.headers, task["id"], str(manual.id))
        assert done["status"] == "success"
        first = await stack.row(str(scheduled.id))
        assert first.status == "success"
        assert (await stack.row(str(manual.id))).started_at >= first.completed_at


async def test_a_terminated_workflow_does_not_leave_its_execution_running(started_task, llm):
    running = _in_progress(started_task, llm, 3.0, evaluation(False))
    async with running as (stack, account, task, stuck):
        handle = stack.temporal.get_workflow_handle(execution_workflow_id(uuid.UUID(stuck)))
        await handle.terminate(reason="test")
        assert (await stack.row(stuck)).status == "running"

        # The next manual run finds the dead run, fails it, and goes ahead.
        next_run = await stack.run(account.headers, task["id"])
        assert next_run["status"] == "success"
        dead = await stack.execution(account.headers, task["id"], stuck)
        assert dead["status"] == "failed" and dead["completed_at"] is not None
        assert "workflow ended (terminated)" in dead["error_message"]


async def test_sweep_fails_executions_whose_workflow_ended(started_task, llm):
    async with _in_progress(started_task, llm, 3.0) as (stack, _, _, stuck):
        sessions = stack.resources.session_factory
        # Alive: left alone.
        assert await sweep_stale_executions(sessions, stack.temporal, min_age=timedelta(0)) == 0
        handle = stack.temporal.get_workflow_handle(execution_workflow_id(uuid.UUID(stuck)))
        await handle.terminate(reason="test")
        assert await sweep_stale_executions(sessions, stack.temporal, min_age=timedelta(0)) == 1
        row = await stack.row(stuck)
        assert row.status == "failed" and row.error_type == WORKFLOW_ENDED_TYPE


async def test_cancelled_workflow_marks_its_execution_failed(started_task, llm):
    running = _in_progress(started_task, llm, 3.0)
    async with running as (stack, account, task, execution_id):
        await stack.temporal.get_workflow_handle(
            execution_workflow_id(uuid.UUID(execution_id))
        ).cancel()
        done = await stack.finished(account.headers, task["id"], execution_id)
        assert done["status"] == "failed"
        assert done["error_message"] == "The execution was cancelled before it finished"


async def test_worker_killed_mid_execution_is_retried_by_another(
    make_stack, make_account, llm, searx, temporal_client
):
    script_search(searx)
    # The first attempt hangs in the LLM call long enough to be killed in it.
    llm.script("POST", CHAT, slow(30.0, condition_met=False), evaluation(False, answer="Later"))
    account = await make_account()
    async with make_stack(worker=False) as stack:
        s = stack.settings
        env = {
            **os.environ,
            "DATABASE_URL": s.database_url,
            "REDIS_URL": s.redis_url,
            "TEMPORAL_ADDRESS": s.temporal_address,
            "TORALE_ENVIRONMENT": "test",
            "TORALE_TEMPORAL_TASK_QUEUE": s.temporal_task_queue,
            "TORALE_LLM_BASE_URL": s.llm_base_url,
            "TORALE_LLM_MODEL": s.llm_model,
            "TORALE_LLM_API_KEY": s.llm_api_key,
            "TORALE_SEARXNG_URL": s.searxng_url,
            "TORALE_ALLOW_PRIVATE_URLS": "true",
        }
        script = Path(__file__).with_name("worker_process.py")
        doomed = await asyncio.create_subprocess_exec(sys.executable, str(script), env=env)
        try:
            task = await stack.create_task(account.headers)
            execution_id = await stack.execute(account.headers, task["id"])

            async def llm_calls() -> int:
                return len(llm.requests)

            await eventually(llm_calls, lambda n: n >= 1, within=20)
            doomed.send_signal(signal.SIGKILL)
            await asyncio.wait_for(doomed.wait(), timeout=5)
            async with start_worker(s, stack.resources, temporal_client, FAST):
                done = await stack.finished(account.headers, task["id"], execution_id, within=30)
        finally:
            if doomed.returncode is None:
                doomed.kill()
                await doomed.wait()
        assert done["status"] == "success" and done["attempt"] == 2
        assert done["result"]["answer"] == "Later"


async def test_manual_run_gives_up_when_the_other_run_outlasts_its_wait(
    make_stack, make_account, llm, searx
):
    script_search(searx)
    llm.script("POST", CHAT, slow(4.0, condition_met=False), evaluation(False))
    account = await make_account()
    async with make_stack() as stack:  # FAST waits 2 s for a busy task
        task = await stack.create_task(account.headers)
        task_id = uuid.UUID(task["id"])
        assert await stack.resources.scheduler.trigger(task_id)
        await eventually(
            lambda: _executions(stack, task["id"]),
            lambda rows: len(rows) == 1 and rows[0].status == "running",
        )
        async with unit_of_work(stack.resources.session_factory) as session:
            manual = Execution(task_id=task_id, trigger=ExecutionTrigger.MANUAL)
            manual.workflow_id = execution_workflow_id(manual.id)
            session.add(manual)
        await stack.resources.scheduler.start_execution(task_id, manual.id)
        done = await stack.finished(account.headers, task["id"], str(manual.id), within=10)
        assert done["status"] == "failed" and done["error_type"] == "busy"
        assert done["error_message"] == BUSY_MESSAGE
        assert len(llm.requests) == 1


async def test_evaluate_leaves_an_execution_the_sweep_failed_alone(make_stack, make_account):
    """The workflow was terminated after `evaluate` was handed to a worker, and the sweep
    failed the row first: the late attempt must not reopen it as `running`."""
    account = await make_account()
    async with make_stack(worker=False) as stack:
        task = await stack.create_task(account.headers)
        message = ended_message("TERMINATED")
        async with unit_of_work(stack.resources.session_factory) as session:
            finished = Execution(
                task_id=uuid.UUID(task["id"]),
                trigger=ExecutionTrigger.SCHEDULE,
                status=ExecutionStatus.FAILED,
                error_message=message,
                error_type=WORKFLOW_ENDED_TYPE,
                completed_at=utcnow(),
            )
            session.add(finished)
        activities = ExecutionActivities(
            stack.settings,
            stack.resources.session_factory,
            stack.resources.scheduler,
            FAST,
            deliveries=DeliveryProducer.from_settings(stack.settings),
        )

        with pytest.raises(ApplicationError) as raised:
            await ActivityEnvironment().run(
                activities.evaluate, EvaluateInput(execution_id=str(finished.id))
            )
        assert raised.value.type == EXECUTION_FINISHED and raised.value.non_retryable
        row = await stack.row(str(finished.id))
        assert row.status == "failed" and row.error_type == WORKFLOW_ENDED_TYPE
        assert row.error_message == message and row.attempt == 0
        assert row.started_at is None
