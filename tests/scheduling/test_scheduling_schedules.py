"""TaskScheduler against the real Temporal dev server."""

from __future__ import annotations

import uuid

import pytest
from scheduling_helpers import TaskIds
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleOverlapPolicy

from tests.helpers import eventually
from torale.scheduling import (
    WORKFLOW_TYPE,
    ScheduleSpecForTask,
    TaskExecutionInput,
    TaskScheduler,
    next_run_at,
    schedule_id,
)
from torale.scheduling.constants import WORKFLOW_EXECUTION_TIMEOUT


async def _raw(client: Client, task_id: uuid.UUID):
    return await client.get_schedule_handle(schedule_id(task_id)).describe()


async def test_create_writes_the_schedule_the_spec_describes(
    scheduler: TaskScheduler, temporal_client: Client, task_ids: TaskIds
) -> None:
    task_id, user_id = task_ids(), uuid.uuid4()
    spec = ScheduleSpecForTask(task_id, "*/15 9-17 * * 1-5", "Europe/Paris", user_id=user_id)

    assert await scheduler.create(spec) is True

    desc = await _raw(temporal_client, task_id)
    schedule = desc.schedule
    assert schedule.spec.time_zone_name == "Europe/Paris"
    assert [c.comment for c in schedule.spec.calendars] == ["*/15 9-17 * * 1-5"]
    assert schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert schedule.state.paused is False
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == WORKFLOW_TYPE == "TaskExecutionWorkflow"
    assert action.task_queue == scheduler.task_queue
    assert action.id == f"execution-task-{task_id}"
    assert action.execution_timeout == WORKFLOW_EXECUTION_TIMEOUT
    [arg] = await temporal_client.data_converter.decode(action.args, [TaskExecutionInput])
    assert arg == TaskExecutionInput(task_id=str(task_id), execution_id=None, trigger="schedule")
    assert await desc.memo() == {"task_id": str(task_id), "user_id": str(user_id)}

    info = await scheduler.describe(task_id)
    assert info is not None
    assert (info.cron, info.timezone, info.paused) == ("*/15 9-17 * * 1-5", "Europe/Paris", False)
    assert info.next_run_at == next_run_at(spec.cron, spec.timezone)


async def test_paused_schedule_has_no_next_run(scheduler: TaskScheduler, task_ids: TaskIds) -> None:
    task_id = task_ids()
    await scheduler.create(ScheduleSpecForTask(task_id, "0 * * * *", paused=True))

    info = await scheduler.describe(task_id)
    assert info is not None
    assert info.paused is True
    assert info.next_run_at is None


async def test_create_twice_is_an_upsert(scheduler: TaskScheduler, task_ids: TaskIds) -> None:
    task_id = task_ids()
    spec = ScheduleSpecForTask(task_id, "0 * * * *")
    assert await scheduler.create(spec) is True
    assert await scheduler.create(spec) is False

    changed = ScheduleSpecForTask(task_id, "30 6 * * *", "Asia/Tokyo", paused=True)
    assert await scheduler.create(changed) is False

    info = await scheduler.describe(task_id)
    assert info is not None
    assert (info.cron, info.timezone, info.paused) == ("30 6 * * *", "Asia/Tokyo", True)


async def test_update_changes_cron_timezone_and_paused(
    scheduler: TaskScheduler, temporal_client: Client, task_ids: TaskIds
) -> None:
    task_id = task_ids()
    await scheduler.create(ScheduleSpecForTask(task_id, "0 * * * *"))

    assert await scheduler.update(
        ScheduleSpecForTask(task_id, "5 4 * * 0", "America/New_York", paused=True)
    )

    info = await scheduler.describe(task_id)
    assert info is not None
    assert (info.cron, info.timezone, info.paused) == ("5 4 * * 0", "America/New_York", True)
    # The action is rewritten whole: still our workflow, queue and overlap policy.
    desc = await _raw(temporal_client, task_id)
    assert desc.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert desc.schedule.action.task_queue == scheduler.task_queue  # type: ignore[attr-defined]


async def test_update_that_changes_nothing_writes_nothing(
    scheduler: TaskScheduler, temporal_client: Client, task_ids: TaskIds
) -> None:
    task_id = task_ids()
    spec = ScheduleSpecForTask(task_id, "0 * * * *")
    await scheduler.create(spec)
    before = (await _raw(temporal_client, task_id)).info.last_updated_at

    assert await scheduler.update(spec) is False

    assert (await _raw(temporal_client, task_id)).info.last_updated_at == before


async def test_update_of_a_missing_schedule_creates_it(
    scheduler: TaskScheduler, task_ids: TaskIds
) -> None:
    task_id = task_ids()

    assert await scheduler.update(ScheduleSpecForTask(task_id, "0 12 * * *")) is True

    info = await scheduler.describe(task_id)
    assert info is not None and info.cron == "0 12 * * *"


async def test_pause_and_unpause_with_notes(scheduler: TaskScheduler, task_ids: TaskIds) -> None:
    task_id = task_ids()
    await scheduler.create(ScheduleSpecForTask(task_id, "0 * * * *"))

    assert await scheduler.pause(task_id, "paused by owner") is True
    info = await scheduler.describe(task_id)
    assert info is not None and (info.paused, info.note) == (True, "paused by owner")

    assert await scheduler.unpause(task_id, "resumed by owner") is True
    info = await scheduler.describe(task_id)
    assert info is not None and (info.paused, info.note) == (False, "resumed by owner")
    assert info.next_run_at is not None


async def test_pause_unpause_trigger_of_a_missing_schedule_answer_false(
    scheduler: TaskScheduler,
) -> None:
    missing = uuid.uuid4()
    assert await scheduler.pause(missing) is False
    assert await scheduler.unpause(missing) is False
    assert await scheduler.trigger(missing) is False
    assert await scheduler.describe(missing) is None


async def test_delete_removes_the_schedule_and_tolerates_a_missing_one(
    scheduler: TaskScheduler, task_ids: TaskIds
) -> None:
    task_id = task_ids()
    await scheduler.create(ScheduleSpecForTask(task_id, "0 * * * *"))

    assert await scheduler.delete(task_id) is True
    assert await scheduler.describe(task_id) is None
    assert await scheduler.delete(task_id) is False


async def test_next_runs_answers_a_page_of_tasks_with_one_listing(
    scheduler: TaskScheduler,
    temporal_client: Client,
    task_ids: TaskIds,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    specs = [
        ScheduleSpecForTask(task_ids(), "0 * * * *"),
        ScheduleSpecForTask(task_ids(), "30 6 * * *", "Asia/Tokyo"),
        ScheduleSpecForTask(task_ids(), "0 0 1 * *", "America/New_York"),
    ]
    paused = ScheduleSpecForTask(task_ids(), "0 * * * *", paused=True)
    for spec in [*specs, paused]:
        await scheduler.create(spec)
    never_scheduled = uuid.uuid4()
    wanted = [s.task_id for s in specs] + [paused.task_id, never_scheduled]

    await eventually(
        lambda: scheduler.next_runs(wanted), lambda runs: all(runs[s.task_id] for s in specs)
    )
    service = temporal_client.workflow_service
    real_list = service.list_schedules
    rpcs: list[str] = []

    async def counting_list(request, **kwargs):
        rpcs.append(request.query)
        return await real_list(request, **kwargs)

    monkeypatch.setattr(service, "list_schedules", counting_list)

    runs = await scheduler.next_runs(wanted)

    assert len(rpcs) == 1
    assert "ScheduleId IN" in rpcs[0]
    assert runs == {
        **{s.task_id: next_run_at(s.cron, s.timezone) for s in specs},
        paused.task_id: None,
        never_scheduled: None,
    }


async def test_trigger_starts_the_task_execution_workflow_by_name(
    scheduler: TaskScheduler, temporal_client: Client, task_ids: TaskIds
) -> None:
    task_id = task_ids()
    # Paused: the trigger must run anyway, and no scheduled run may interfere.
    await scheduler.create(ScheduleSpecForTask(task_id, "0 0 1 1 *", paused=True))

    assert await scheduler.trigger(task_id) is True

    prefix = f"execution-task-{task_id}-"
    query = f"WorkflowId STARTS_WITH '{prefix}'"

    async def started() -> list:
        return [w async for w in temporal_client.list_workflows(query)]

    runs = await eventually(started, lambda found: len(found) == 1)
    assert len(runs) == 1
    assert runs[0].workflow_type == WORKFLOW_TYPE
    assert runs[0].task_queue == scheduler.task_queue
    await temporal_client.get_workflow_handle(runs[0].id).terminate("test done")


async def test_start_execution_starts_one_run_per_execution_id(
    scheduler: TaskScheduler, temporal_client: Client
) -> None:
    task_id, execution_id = uuid.uuid4(), uuid.uuid4()

    workflow_id = await scheduler.start_execution(task_id, execution_id)
    assert workflow_id == f"execution-{execution_id}"
    # A retried request finds the run and starts nothing more.
    assert await scheduler.start_execution(task_id, execution_id) == workflow_id

    handle = temporal_client.get_workflow_handle(workflow_id)
    desc = await handle.describe()
    assert desc.workflow_type == WORKFLOW_TYPE
    assert desc.task_queue == scheduler.task_queue
    history = await handle.fetch_history()
    start = history.events[0].workflow_execution_started_event_attributes
    [arg] = await temporal_client.data_converter.decode(start.input.payloads, [TaskExecutionInput])
    assert arg == TaskExecutionInput(str(task_id), str(execution_id), "manual")
    await handle.terminate("test done")


@pytest.mark.parametrize(
    ("cron", "timezone", "message"),
    [
        ("* * * *", "UTC", "Invalid cron expression"),
        ("invalid", "UTC", "Invalid cron expression"),
        ("61 * * * *", "UTC", "Invalid cron expression"),
        # croniter reads these; Temporal refuses them (or reads `#` as a comment).
        ("0 0 L * *", "UTC", "Invalid cron expression"),
        ("0 0 1W * *", "UTC", "Invalid cron expression"),
        ("0 0 ? * *", "UTC", "Invalid cron expression"),
        ("H * * * *", "UTC", "Invalid cron expression"),
        ("0 0 * * 5#3", "UTC", "Invalid cron expression"),
        ("0 0 31 2 *", "UTC", "never fires"),
        ("0 * * * *", "Mars/Olympus", "Unknown timezone"),
    ],
)
def test_spec_refuses_what_temporal_would_refuse_or_misread(
    cron: str, timezone: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ScheduleSpecForTask(uuid.uuid4(), cron, timezone)
