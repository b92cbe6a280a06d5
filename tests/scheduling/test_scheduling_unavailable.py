"""Temporal down: every call fails fast with Unavailable, so the caller can roll back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable

from tests.helpers import start_private_temporal
from torale.errors import Unavailable
from torale.scheduling import ScheduleSpecForTask, TaskScheduler, reconcile


async def test_every_call_raises_unavailable_within_seconds_when_temporal_is_down() -> None:
    env = await start_private_temporal()
    scheduler = TaskScheduler(env.client, "unavailable-test")
    existing = ScheduleSpecForTask(uuid.uuid4(), "0 * * * *")
    await scheduler.create(existing)
    await env.shutdown()

    fresh = ScheduleSpecForTask(uuid.uuid4(), "0 * * * *")
    calls: dict[str, Awaitable[object]] = {
        "create": scheduler.create(fresh),
        "update": scheduler.update(existing),
        "pause": scheduler.pause(existing.task_id),
        "unpause": scheduler.unpause(existing.task_id),
        "delete": scheduler.delete(existing.task_id),
        "describe": scheduler.describe(existing.task_id),
        "trigger": scheduler.trigger(existing.task_id),
        "next_runs": scheduler.next_runs([existing.task_id]),
        "start_execution": scheduler.start_execution(existing.task_id, uuid.uuid4()),
        "reconcile": reconcile(scheduler, [existing]),
    }

    async def timed(call: Awaitable[object]) -> tuple[BaseException | object, float]:
        started = time.monotonic()
        try:
            outcome: BaseException | object = await call
        except Exception as exc:
            outcome = exc
        return outcome, time.monotonic() - started

    results = dict(zip(calls, await asyncio.gather(*map(timed, calls.values())), strict=True))

    for name, (outcome, elapsed) in results.items():
        assert isinstance(outcome, Unavailable), f"{name}: {outcome!r}"
        assert outcome.message == "Scheduler unavailable, nothing was changed"
        assert outcome.status_code == 503
        assert elapsed < 5, f"{name} took {elapsed:.1f}s"
