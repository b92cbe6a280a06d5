"""Fixtures for task tests: a view of a task's Temporal schedule."""

from __future__ import annotations

import uuid

import pytest

from torale.scheduling.scheduler import TaskScheduleInfo


@pytest.fixture
def schedule_of(resources):
    async def describe(task_id: str) -> TaskScheduleInfo | None:
        return await resources.scheduler.describe(uuid.UUID(task_id))

    return describe
