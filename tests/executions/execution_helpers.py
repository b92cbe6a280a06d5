"""Helpers for the execution tests (imported by name; fixtures live in conftest)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.helpers import task_body
from tests.monitoring.monitoring_peer import (
    Reply,
    ScriptedServer,
    chat_json,
    search_hit,
    search_reply,
)
from torale.executions.models import Execution
from torale.scheduling.constants import schedule_id
from torale.scheduling.scheduler import TaskScheduler
from torale.tasks.models import Task
from torale.webhooks.fanout import Enqueue
from torale.webhooks.queue import DeliveryProducer
from workers.execution_activities import ExecutionActivities
from workers.execution_steps import ExecutionTuning
from workers.execution_workflow import TaskExecutionWorkflow

CHAT = "/v1/chat/completions"
SEARCH = "/search"
DONE = ("success", "failed")

# Seconds, not the production minutes: retries and waits the tests can sit through.
FAST = ExecutionTuning(
    retry_initial_seconds=0.1,
    retry_maximum_seconds=0.5,
    heartbeat_seconds=5.0,
    evaluate_timeout_seconds=30.0,
    persist_timeout_seconds=15.0,
    busy_poll_seconds=0.2,
    busy_wait_seconds=2.0,
    row_visible_within_seconds=3.0,
)


def evaluation(
    condition_met: bool,
    answer: str = "No date has been announced yet.",
    reasoning: str = "The sources only mention rumours.",
    state: Any = None,
) -> Reply:
    return chat_json(
        {
            "condition_met": condition_met,
            "answer": answer,
            "reasoning": reasoning,
            "current_state": state,
        }
    )


def change(changed: bool, summary: str) -> Reply:
    return chat_json({"changed": changed, "summary": summary})


DEFAULT_PAGES = (
    ("https://www.apple.com/newsroom/iphone", "Apple Newsroom", "Apple announced the event."),
    ("https://news.example.org/iphone-date", "iPhone date", "Release on September 19."),
)


def script_search(searx: ScriptedServer, *pages: tuple[str, str, str]) -> None:
    searx.script(
        "GET", SEARCH, search_reply(*(search_hit(*page) for page in pages or DEFAULT_PAGES))
    )


def start_worker(
    stack_settings: Any,
    resources: Any,
    client: Client,
    tuning: ExecutionTuning = FAST,
    deliveries: Enqueue | None = None,
    **worker_options: Any,
) -> Worker:
    """A worker on the stack's queue (the API's client is lazy, which workers refuse).

    Its deliveries go to the broker of the stack's settings, as in production, unless
    `deliveries` says otherwise."""
    queue = stack_settings.temporal_task_queue
    activities = ExecutionActivities(
        stack_settings,
        resources.session_factory,
        TaskScheduler(client, queue),
        tuning,
        deliveries=deliveries or DeliveryProducer.from_settings(stack_settings),
    )
    return Worker(
        client,
        task_queue=queue,
        workflows=[TaskExecutionWorkflow],
        activities=activities.activities(),
        **worker_options,
    )


async def eventually(
    probe, check, within: float = 15.0, every: float = 0.1, what: str = "condition"
):
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within}s; last value: {value!r}")
        await asyncio.sleep(every)


@dataclass
class Stack:
    http: httpx.AsyncClient
    resources: Any
    settings: Any
    temporal: Client
    task_ids: list[str] = field(default_factory=list)

    async def create_task(self, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/api/v1/tasks", json=task_body(**overrides), headers=headers
        )
        assert response.status_code == 201, response.text
        task = response.json()
        self.task_ids.append(task["id"])
        return task

    async def execute(self, headers: dict[str, str], task_id: str) -> str:
        response = await self.http.post(f"/api/v1/tasks/{task_id}/execute", headers=headers)
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["message"] == "Task execution initiated"
        return body["execution_id"]

    async def execution(
        self, headers: dict[str, str], task_id: str, execution_id: str
    ) -> dict[str, Any]:
        response = await self.http.get(
            f"/api/v1/tasks/{task_id}/executions/{execution_id}", headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def finished(
        self, headers: dict[str, str], task_id: str, execution_id: str, within: float = 20.0
    ) -> dict[str, Any]:
        return await eventually(
            lambda: self.execution(headers, task_id, execution_id),
            lambda e: e["status"] in DONE,
            within=within,
        )

    async def run(self, headers: dict[str, str], task_id: str) -> dict[str, Any]:
        """Execute now and wait for the outcome."""
        return await self.finished(headers, task_id, await self.execute(headers, task_id))

    async def task(self, headers: dict[str, str], task_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/v1/tasks/{task_id}", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def row(self, execution_id: str) -> Execution:
        async with self.resources.session_factory() as session:
            row = await session.get(Execution, uuid.UUID(execution_id))
            assert row is not None
            return row

    async def rows_of_task(self, model: Any, task_id: str) -> list[Any]:
        """The task's rows of `model` (executions, deliveries), oldest first."""
        async with self.resources.session_factory() as session:
            rows = await session.execute(
                select(model).where(model.task_id == uuid.UUID(task_id)).order_by(model.created_at)
            )
            return list(rows.scalars())

    async def task_row(self, task_id: str) -> Task:
        async with self.resources.session_factory() as session:
            row = await session.get(Task, uuid.UUID(task_id))
            assert row is not None
            return row

    async def cleanup(self) -> None:
        for task_id in self.task_ids:
            with contextlib.suppress(RPCError):
                await self.temporal.get_schedule_handle(schedule_id(uuid.UUID(task_id))).delete()
