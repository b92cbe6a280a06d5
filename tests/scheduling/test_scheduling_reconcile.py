"""The reconciler repairs each kind of drift, reports it, and tolerates a twin.

These tests own a private dev server: the reconciler considers every `task-*`
schedule of its namespace, and must not delete other tests' schedules.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from scheduling_helpers import TaskIds
from temporalio.client import (
    Client,
    ScheduleListDescription,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from tests.helpers import eventually, start_private_temporal
from torale.errors import Unavailable
from torale.scheduling import (
    FixKind,
    ReconcileReport,
    ScheduleSpecForTask,
    TaskScheduler,
    reconcile,
    schedule_id,
    task_id_from_schedule_id,
)

NO_GRACE = timedelta(0)


@pytest.fixture(scope="module")
async def private_client() -> AsyncIterator[Client]:
    env = await start_private_temporal()
    try:
        yield env.client
    finally:
        await env.shutdown()


@pytest.fixture
async def new_id(private_client: Client) -> AsyncIterator[TaskIds]:
    ids = TaskIds()
    yield ids
    # By id, not from the lagging listing, so no schedule leaks into the next test.
    await ids.cleanup(private_client)

    async def listed() -> list[ScheduleListDescription]:
        return [e async for e in await private_client.list_schedules()]

    await eventually(listed, lambda entries: not entries)


@pytest.fixture
def scheduler(private_client: Client, new_id: TaskIds) -> TaskScheduler:
    return TaskScheduler(private_client, f"reconcile-test-{uuid.uuid4()}")


async def _seen(scheduler: TaskScheduler, check: Callable[[dict], bool]) -> None:
    """Wait until the (eventually consistent) listing shows what the test just did."""

    async def by_task() -> dict:
        entries = await scheduler.list_task_schedules()
        return {task_id_from_schedule_id(e.id): e for e in entries}

    await eventually(by_task, check)


async def _hand_edit(client: Client, task_id: uuid.UUID, spec: ScheduleSpec) -> None:
    def edit(current: ScheduleUpdateInput) -> ScheduleUpdate:
        schedule = current.description.schedule
        schedule.spec = spec
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id(task_id)).update(edit)


def _kinds(report: ReconcileReport) -> list[tuple[FixKind, uuid.UUID]]:
    return [(f.kind, f.task_id) for f in report.fixes]


async def _converged(scheduler: TaskScheduler, desired: list[ScheduleSpecForTask]) -> None:
    """Once the listing catches up, a second pass finds nothing left to do."""
    wanted = {s.task_id: s for s in desired}

    def caught_up(listed: dict) -> bool:
        return set(listed) == set(wanted) and all(
            wanted[t].spec_matches(e.schedule.spec) and e.schedule.state.paused == wanted[t].paused
            for t, e in listed.items()
        )

    await _seen(scheduler, caught_up)
    for spec in desired:
        info = await scheduler.describe(spec.task_id)
        assert info is not None
        assert (info.cron, info.timezone, info.paused) == (spec.cron, spec.timezone, spec.paused)
    report = await reconcile(scheduler, desired, orphan_grace=NO_GRACE)
    assert report.fixes == []
    assert str(report) == f"{len(desired)} schedules checked, no drift"


async def test_missing_schedule_is_created(scheduler: TaskScheduler, new_id: TaskIds) -> None:
    kept = ScheduleSpecForTask(new_id(), "0 * * * *")
    lost = ScheduleSpecForTask(new_id(), "15 8 * * 1", "Europe/Paris", paused=True)
    await scheduler.create(kept)
    await _seen(scheduler, lambda listed: kept.task_id in listed)

    report = await reconcile(scheduler, [kept, lost])

    assert _kinds(report) == [(FixKind.CREATED, lost.task_id)]
    assert "15 8 * * 1" in str(report) and "Europe/Paris" in str(report)
    await _converged(scheduler, [kept, lost])


async def test_schedule_without_task_is_deleted(scheduler: TaskScheduler, new_id: TaskIds) -> None:
    kept = ScheduleSpecForTask(new_id(), "0 * * * *")
    orphan = ScheduleSpecForTask(new_id(), "0 * * * *")
    await scheduler.create(kept)
    await scheduler.create(orphan)
    await _seen(scheduler, lambda listed: len(listed) == 2)

    report = await reconcile(scheduler, [kept], orphan_grace=NO_GRACE)

    assert _kinds(report) == [(FixKind.DELETED, orphan.task_id)]
    assert await scheduler.describe(orphan.task_id) is None
    await _converged(scheduler, [kept])


async def test_young_orphan_is_left_for_the_api_to_commit(
    scheduler: TaskScheduler, new_id: TaskIds
) -> None:
    # The API creates the schedule before committing the task row.
    in_flight = ScheduleSpecForTask(new_id(), "0 * * * *")
    await scheduler.create(in_flight)
    await _seen(scheduler, lambda listed: in_flight.task_id in listed)

    report = await reconcile(scheduler, [], orphan_grace=timedelta(minutes=1))

    assert report.fixes == []
    assert await scheduler.describe(in_flight.task_id) is not None


async def test_wrong_cron_or_timezone_is_updated(
    scheduler: TaskScheduler, private_client: Client, new_id: TaskIds
) -> None:
    cron_drift = ScheduleSpecForTask(new_id(), "0 9 * * 1-5", "Europe/Paris")
    zone_drift = ScheduleSpecForTask(new_id(), "30 7 * * *", "America/New_York", paused=True)
    for spec in (cron_drift, zone_drift):
        await scheduler.create(spec)
    # Edited by hand: a plain cron (no comment) and, separately, only the zone.
    await _hand_edit(
        private_client, cron_drift.task_id, ScheduleSpec(cron_expressions=["0 0 * * *"])
    )
    await _hand_edit(
        private_client,
        zone_drift.task_id,
        ScheduleSpec(cron_expressions=["30 7 * * * # 30 7 * * *"], time_zone_name="Asia/Tokyo"),
    )
    await _seen(
        scheduler,
        lambda listed: (
            len(listed) == 2
            and listed[cron_drift.task_id].schedule.spec.calendars[0].comment is None
            and listed[zone_drift.task_id].schedule.spec.time_zone_name == "Asia/Tokyo"
        ),
    )

    report = await reconcile(scheduler, [cron_drift, zone_drift])

    assert sorted(_kinds(report), key=str) == sorted(
        [(FixKind.UPDATED, cron_drift.task_id), (FixKind.UPDATED, zone_drift.task_id)], key=str
    )
    assert "a spec not written by torale in UTC" in str(report)
    assert "Asia/Tokyo" in str(report)
    await _converged(scheduler, [cron_drift, zone_drift])


async def test_wrong_paused_state_is_fixed(
    scheduler: TaskScheduler, private_client: Client, new_id: TaskIds
) -> None:
    active = ScheduleSpecForTask(new_id(), "0 * * * *")
    paused = ScheduleSpecForTask(new_id(), "0 * * * *", paused=True)
    await scheduler.create(active)
    await scheduler.create(paused)
    await private_client.get_schedule_handle(schedule_id(active.task_id)).pause(note="by hand")
    await private_client.get_schedule_handle(schedule_id(paused.task_id)).unpause(note="by hand")
    await _seen(
        scheduler,
        lambda listed: (
            len(listed) == 2
            and listed[active.task_id].schedule.state.paused
            and not listed[paused.task_id].schedule.state.paused
        ),
    )

    report = await reconcile(scheduler, [active, paused])

    assert sorted(_kinds(report), key=str) == sorted(
        [(FixKind.UNPAUSED, active.task_id), (FixKind.PAUSED, paused.task_id)], key=str
    )
    await _converged(scheduler, [active, paused])


async def test_report_prints_one_line_per_fix(scheduler: TaskScheduler, new_id: TaskIds) -> None:
    specs = [ScheduleSpecForTask(new_id(), "0 * * * *") for _ in range(3)]

    report = await reconcile(scheduler, specs)

    lines = str(report).splitlines()
    assert len(lines) == 3
    for spec in specs:
        assert sum(f"task-{spec.task_id}" in line for line in lines) == 1
    assert all(line.startswith("created") for line in lines)


async def test_two_reconcilers_at_once_both_succeed(
    scheduler: TaskScheduler, private_client: Client, new_id: TaskIds
) -> None:
    missing = ScheduleSpecForTask(new_id(), "0 * * * *")
    wrong = ScheduleSpecForTask(new_id(), "0 6 * * *", "Asia/Tokyo")
    unpaused = ScheduleSpecForTask(new_id(), "0 * * * *", paused=True)
    orphan = ScheduleSpecForTask(new_id(), "0 * * * *")
    for spec in (wrong, unpaused, orphan):
        await scheduler.create(spec)
    await _hand_edit(private_client, wrong.task_id, ScheduleSpec(cron_expressions=["* * * * *"]))
    await private_client.get_schedule_handle(schedule_id(unpaused.task_id)).unpause()
    await _seen(
        scheduler,
        lambda listed: (
            len(listed) == 3
            and not listed[unpaused.task_id].schedule.state.paused
            and listed[wrong.task_id].schedule.spec.calendars[0].comment is None
        ),
    )
    desired = [missing, wrong, unpaused]

    first, second = await asyncio.gather(
        reconcile(scheduler, desired, orphan_grace=NO_GRACE),
        reconcile(scheduler, desired, orphan_grace=NO_GRACE),
    )

    found = set(_kinds(first)) | set(_kinds(second))
    assert found == {
        (FixKind.CREATED, missing.task_id),
        (FixKind.UPDATED, wrong.task_id),
        (FixKind.PAUSED, unpaused.task_id),
        (FixKind.DELETED, orphan.task_id),
    }
    await _converged(scheduler, desired)


async def test_duplicate_desired_task_is_refused(scheduler: TaskScheduler, new_id: TaskIds) -> None:
    spec = ScheduleSpecForTask(new_id(), "0 * * * *")
    with pytest.raises(ValueError, match="listed twice"):
        await reconcile(scheduler, [spec, spec])


async def test_listing_follows_every_page(private_client: Client, new_id: TaskIds) -> None:
    scheduler = TaskScheduler(private_client, "reconcile-pages", list_page_size=2)
    specs = [ScheduleSpecForTask(new_id(), "0 * * * *") for _ in range(5)]
    for spec in specs:
        await scheduler.create(spec)
    await _seen(scheduler, lambda listed: len(listed) == 5)
    assert {task_id_from_schedule_id(e.id) for e in await scheduler.list_task_schedules()} == {
        s.task_id for s in specs
    }

    report = await reconcile(scheduler, specs[:4], orphan_grace=NO_GRACE)

    assert _kinds(report) == [(FixKind.DELETED, specs[4].task_id)]


async def test_a_refused_repair_surfaces_as_unavailable(
    private_client: Client, new_id: TaskIds
) -> None:
    # The listing works; the create is refused (the server caps task queue names).
    scheduler = TaskScheduler(private_client, "q" * 2000)

    with pytest.raises(Unavailable, match="reconcile incomplete"):
        await reconcile(scheduler, [ScheduleSpecForTask(new_id(), "0 * * * *")])
