"""Locally computed fire times agree with the ones Temporal itself announces."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scheduling_helpers import TaskIds
from temporalio.client import Client

from torale.scheduling import ScheduleSpecForTask, TaskScheduler, next_run_times, schedule_id

CASES = [
    ("*/5 * * * *", "UTC"),
    ("0 9 * * 1-5", "America/New_York"),
    # Day-of-month AND day-of-week, as Temporal reads it: Friday the 13th only.
    ("0 0 13 * 5", "Europe/Paris"),
    ("30 2 * * *", "Asia/Kolkata"),
    # Sundays of March at 02:30 in Berlin: the DST-start Sunday has no 02:30 and
    # Temporal skips it. (The repeated hour at DST end differs: see cron.py.)
    ("30 2 * 3 0", "Europe/Berlin"),
    ("0 2 * 3 0", "America/New_York"),
    ("0 0 1 */3 *", "Australia/Sydney"),
    ("15,45 */2 * 1,7 0", "Pacific/Auckland"),
]


@pytest.mark.parametrize(("cron", "timezone"), CASES)
async def test_local_next_runs_match_temporal(
    scheduler: TaskScheduler,
    temporal_client: Client,
    task_ids: TaskIds,
    cron: str,
    timezone: str,
) -> None:
    task_id = task_ids()
    await scheduler.create(ScheduleSpecForTask(task_id, cron, timezone))

    desc = await temporal_client.get_schedule_handle(schedule_id(task_id)).describe()
    announced = list(desc.info.next_action_times)

    assert len(announced) >= 5
    # From just before the server's first time, so a run firing meanwhile cannot shift us.
    local = next_run_times(cron, timezone, after=_just_before(announced[0]), count=len(announced))
    assert local == announced


def _just_before(moment: datetime) -> datetime:
    return datetime.fromtimestamp(moment.timestamp() - 1, UTC)
