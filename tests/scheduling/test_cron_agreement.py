"""Every cron our check accepts, Temporal accepts too (so a save is never a 503 for what
is really bad input), and the ranges Temporal refuses are refused by our check first."""

from __future__ import annotations

import uuid

from torale.scheduling.cron import check_cron
from torale.scheduling.spec import ScheduleSpecForTask

TRICKY = [
    "0 0 1-0 * *",
    "0 0 5-1 * *",
    "0 9 * * 5-1",
    "0 9 * * mon-sun",
    "0 9 * * 7-0",
    "0 9 1 dec-jan *",
    "0 9 * * sun-mon",
    "0 9 * * 0-7",
    "0 9 * * 7",
    "0 9 * * 6-6",
    "0-0 9 * * *",
    "0 9 1-31/40 * *",
    "0 9 * jan-mar *",
    "0 9 * * MON-FRI",
    "0 9 29 2 *",
    "0 9 31 4 *",
    "*/15 * * * *",
    "0 9 1,15 * 1-5",
    "0 23-0 * * *",
]


def accepted(cron: str) -> bool:
    try:
        check_cron(cron)
    except ValueError:
        return False
    return True


async def test_temporal_accepts_what_we_accept(resources):
    sent = 0
    for cron in TRICKY:
        if not accepted(cron):
            continue  # a 422 at save, never sent to Temporal
        spec = ScheduleSpecForTask(
            task_id=uuid.uuid4(), cron=cron, timezone="UTC", paused=True, user_id=uuid.uuid4()
        )
        assert await resources.scheduler.create(spec), cron
        await resources.scheduler.delete(spec.task_id)
        sent += 1
    assert sent >= 10


def test_backwards_ranges_are_refused() -> None:
    backwards = ["0 0 1-0 * *", "0 0 5-1 * *", "0 9 * * 5-1", "0 9 * * mon-sun", "0 9 * * 7-0",
                 "0 9 1 dec-jan *", "0 23-0 * * *"]  # fmt: skip
    assert [c for c in backwards if accepted(c)] == []
