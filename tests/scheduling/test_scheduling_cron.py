"""Locally computed fire times agree with the ones Temporal itself announces."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scheduling_helpers import TaskIds
from temporalio.client import Client

from torale.scheduling import (
    ScheduleSpecForTask,
    TaskScheduler,
    next_run_at,
    next_run_times,
    schedule_id,
)

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
    ("0 12 * jan,jul mon-fri", "UTC"),
    ("5/20 1-5/2 * * *", "UTC"),
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


def test_next_run_at_now_is_cached_until_it_passes() -> None:
    from torale.scheduling import cron as cron_module

    first = next_run_at("*/7 * * * *", "Asia/Kolkata")
    assert next_run_at("*/7 * * * *", "Asia/Kolkata") is first

    stale = datetime(2000, 1, 1, tzinfo=UTC)
    cron_module._upcoming[("*/7 * * * *", "Asia/Kolkata")] = (stale, stale.timestamp())
    assert next_run_at("*/7 * * * *", "Asia/Kolkata") == first


def test_cron_with_a_hash_is_refused() -> None:
    with pytest.raises(ValueError, match="Unsupported cron"):
        next_run_times("0 0 * * 5#3", "UTC")
