"""Helpers shared by the scheduling tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from torale.devstack.binaries import temporal_binary
from torale.scheduling import schedule_id

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], within: float = 5.0
) -> T:
    """Poll `probe` until `check` passes: schedule visibility lags writes by ~50 ms."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if check(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


async def start_private_temporal() -> WorkflowEnvironment:
    """A dev server of our own, for tests that stop it or list every schedule."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()), dev_server_log_level="error"
    )


class TaskIds:
    """Fresh task ids whose schedules are deleted after the test."""

    def __init__(self) -> None:
        self.issued: list[uuid.UUID] = []

    def __call__(self) -> uuid.UUID:
        task_id = uuid.uuid4()
        self.issued.append(task_id)
        return task_id

    async def cleanup(self, client: Client) -> None:
        for task_id in self.issued:
            with contextlib.suppress(RPCError):
                await client.get_schedule_handle(schedule_id(task_id)).delete()
