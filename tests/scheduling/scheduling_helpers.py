"""Helpers shared by the scheduling tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

import contextlib
import uuid
from typing import TypeVar

from temporalio.client import Client
from temporalio.service import RPCError

from torale.scheduling import schedule_id

T = TypeVar("T")


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
