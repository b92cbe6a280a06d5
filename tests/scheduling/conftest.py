"""Fixtures for the scheduling tests: a scheduler per test and cleanup of its schedules."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from scheduling_helpers import TaskIds
from temporalio.client import Client

from torale.scheduling import TaskScheduler


@pytest.fixture
async def task_ids(temporal_client: Client) -> AsyncIterator[TaskIds]:
    ids = TaskIds()
    yield ids
    await ids.cleanup(temporal_client)


@pytest.fixture
def scheduler(temporal_client: Client) -> TaskScheduler:
    return TaskScheduler(temporal_client, f"scheduling-test-{uuid.uuid4()}")
