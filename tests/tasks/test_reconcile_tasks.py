"""Drift made by hand between the task table and Temporal, found and repaired."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from tests.helpers import task_body
from tests.observability.metrics_helpers import value
from torale.scheduling.reconciler import FixKind
from torale.scheduling.spec import ScheduleSpecForTask
from torale.tasks.reconcile import reconcile_tasks


async def _listed(scheduler, ids: set[uuid.UUID]) -> None:
    """Temporal's schedule listing is eventually consistent: wait until it shows `ids`."""
    for _ in range(100):
        seen = {e.id for e in await scheduler.list_task_schedules()}
        if {f"task-{i}" for i in ids} <= seen:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("schedules never appeared in the listing")


async def test_each_kind_of_drift_is_repaired(client, make_account, resources):
    scheduler = resources.scheduler
    account = await make_account()
    ids = []
    for _ in range(3):
        created = await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)
        ids.append(uuid.UUID(created.json()["id"]))
    missing, wrong_cron, wrong_pause = ids

    await scheduler.delete(missing)
    await scheduler.update(ScheduleSpecForTask(task_id=wrong_cron, cron="5 5 * * *"))
    await scheduler.pause(wrong_pause)
    orphan = uuid.uuid4()
    await scheduler.create(ScheduleSpecForTask(task_id=orphan, cron="0 1 * * *"))
    await _listed(scheduler, {wrong_cron, wrong_pause, orphan})

    repaired = {kind: value("torale_reconciler_repairs_total", kind=kind) for kind in FixKind}
    report = await reconcile_tasks(resources.session_factory, scheduler, orphan_grace=timedelta(0))
    fixed = {(f.kind, f.task_id) for f in report.fixes}
    # Every repair is counted in the metrics, by kind.
    for kind in FixKind:
        made = sum(1 for f in report.fixes if f.kind == kind)
        assert value("torale_reconciler_repairs_total", kind=kind) == repaired[kind] + made
    assert (FixKind.CREATED, missing) in fixed
    assert (FixKind.UPDATED, wrong_cron) in fixed
    assert (FixKind.UNPAUSED, wrong_pause) in fixed
    assert (FixKind.DELETED, orphan) in fixed
    assert str(report).count("\n") >= 3  # one printed line per fix

    assert (await scheduler.describe(missing)).cron == "0 9 * * *"
    assert (await scheduler.describe(wrong_cron)).cron == "0 9 * * *"
    assert not (await scheduler.describe(wrong_pause)).paused
    assert await scheduler.describe(orphan) is None
    for task_id in ids:
        await scheduler.delete(task_id)
