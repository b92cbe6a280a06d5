"""Rows and settings for the fan-out tests: a task with channels, a condition_met run."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from torale.db import unit_of_work
from torale.executions.models import Execution, ExecutionStatus
from torale.tasks.models import Task, TaskState
from torale.users.models import User

SOURCES = [
    {"uri": "https://www.apple.com/newsroom/", "title": "Apple Newsroom"},
    {"uri": "https://example.com/iphone", "title": "iPhone <17> & friends"},
]


async def make_user(factory: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    async with unit_of_work(factory) as session:
        user = User(email=f"fanout-{uuid.uuid4().hex[:8]}@example.com")
        session.add(user)
        await session.flush()
        return user.id


async def make_condition_met(
    factory: async_sessionmaker[AsyncSession],
    user_id: uuid.UUID,
    notifications: list[dict[str, Any]],
    *,
    condition_met: bool = True,
) -> tuple[uuid.UUID, uuid.UUID]:
    """A task with `notifications` and a successful execution; (task_id, execution_id)."""
    async with unit_of_work(factory) as session:
        task = Task(
            user_id=user_id,
            name="iPhone release watch",
            search_query="When is the next iPhone being released?",
            condition_description="Apple has announced a specific release date",
            schedule="0 9 * * *",
            notify_behavior="always",
            notifications=notifications,
            state=TaskState.ACTIVE,
        )
        session.add(task)
        await session.flush()
        execution = Execution(
            task_id=task.id,
            status=ExecutionStatus.SUCCESS,
            started_at=datetime(2026, 9, 9, 17, 0, tzinfo=UTC),
            completed_at=datetime(2026, 9, 9, 17, 1, tzinfo=UTC),
            condition_met=condition_met,
            result={
                "answer": "September 19, pre-orders on the 12th",
                "reasoning": "Apple's newsroom announced the date.",
                "condition_met": condition_met,
                "sources_count": len(SOURCES),
            },
            change_summary="Release date announced",
            grounding_sources=SOURCES,
            notification_due=condition_met,
        )
        session.add(execution)
        await session.flush()
        return task.id, execution.id


async def wait_for(
    check: Callable[[], Awaitable[bool]], within: float = 15.0, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {within}s")
        await asyncio.sleep(interval)
