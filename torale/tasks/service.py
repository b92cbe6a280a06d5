"""Tasks: the only code that writes them, and the one that keeps Temporal in step.

Each write flushes the row first and then changes the schedule. If Temporal refuses,
`Unavailable` propagates and the caller's unit of work rolls the row back, so the
database never records a change the scheduler did not make. (The opposite gap, a
schedule change followed by a failed commit, is closed by the reconciler.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, bindparam, delete, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.auth.subject import Subject
from torale.errors import Forbidden, NotFound, ValidationFailed
from torale.models_base import utcnow
from torale.pagination import PagedQuery, PageRequest, fetch_page
from torale.tasks import validation as rules
from torale.tasks.inputs import TASK_FIELDS, UPDATE_FIELDS, with_defaults
from torale.tasks.models import Task, TaskState
from torale.tasks.state import ScheduleEffect, check_transition, has_schedule
from torale.webhooks.service import check_channel_urls

if TYPE_CHECKING:
    from torale.scheduling.scheduler import TaskScheduler
    from torale.scheduling.spec import ScheduleSpecForTask

TASK_NOT_FOUND = "Task not found"
NOT_AUTHORIZED = "Not authorized to access this task"


# Fields PUT may change; anything else in the input is not writable.
UPDATABLE = UPDATE_FIELDS


@dataclass(frozen=True, slots=True)
class TaskPage:
    # Rows read like `Task` (`fetch_page`): shown, never changed.
    items: list[Any]
    total: int


def schedule_spec(task: Task) -> ScheduleSpecForTask:
    # Imported here: it needs the Temporal SDK, which the API loads on first use.
    from torale.scheduling.spec import ScheduleSpecForTask

    return ScheduleSpecForTask(
        task_id=task.id,
        cron=task.schedule,
        timezone=task.timezone,
        paused=task.state == TaskState.PAUSED,
        user_id=task.user_id,
    )


def _validated(values: dict[str, Any], min_interval: int) -> dict[str, Any]:
    """Check every given field by its declared rule, collecting all problems into one 422."""
    cleaned: dict[str, Any] = {}
    errors = []
    for name, value in values.items():
        spec = TASK_FIELDS.get(name)
        if value is None and not (spec and spec.nullable):
            errors.extend(ValidationFailed.field(["body", name], "Must not be null").errors)
            continue
        try:
            check = spec.check if spec else None
            cleaned[name] = check(value, min_interval) if check and value is not None else value
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


@dataclass(frozen=True, slots=True)
class TaskPolicy:
    """The deployment's rules for task fields (from settings)."""

    min_interval_seconds: int = 60
    allow_private_urls: bool = False


async def _validated_with_urls(values: dict[str, Any], policy: TaskPolicy) -> dict[str, Any]:
    cleaned = _validated(values, policy.min_interval_seconds)
    if cleaned.get("search_query"):
        # Imported here: the fetcher loads httpx, which the API needs only for writes.
        from torale.monitoring.providers.fetch import refused_page_url

        # The URLs a query names are fetched on every run: refuse internal ones now.
        refused = await refused_page_url(
            cleaned["search_query"], allow_private=policy.allow_private_urls
        )
        if refused:
            raise ValidationFailed.field(["body", "search_query"], refused)
    if cleaned.get("notifications"):
        # Refuse webhooks aimed at internal addresses now, not at the first delivery.
        await check_channel_urls(cleaned["notifications"], allow_private=policy.allow_private_urls)
    return cleaned


async def validated_create_values(given: dict[str, Any], policy: TaskPolicy) -> dict[str, Any]:
    """Every field of a new task but its name, defaults filled in and checked as create
    checks them (one 422). `given`: the fields of `TASK_FIELDS` the client sent."""
    data = with_defaults(given)
    data.pop("run_immediately", None)  # the caller's business, not the row's
    data.pop("name")
    return await _validated_with_urls(data, policy)


def create_name(name: str | None, search_query: str) -> str:
    """The name a new task gets: the one given (an empty one is refused), or one made
    from its query."""
    return rules.check_name(name) if name is not None else rules.name_from_query(search_query)


async def create_task(
    session: AsyncSession,
    scheduler: TaskScheduler,
    owner: Subject,
    given: dict[str, Any],
    *,
    policy: TaskPolicy,
    state: TaskState = TaskState.ACTIVE,
) -> Task:
    """`given`: the fields of `TASK_FIELDS` the client sent; the rest take their defaults."""
    values = await validated_create_values(given, policy)
    name = create_name(given.get("name"), values["search_query"])
    task = Task(user_id=owner.user_id, name=name, state=state, **values)
    session.add(task)
    await session.flush()
    # A completed task (only an import creates one) owns no schedule.
    if has_schedule(state):
        await scheduler.create(schedule_spec(task))
    return task


async def _load(session: AsyncSession, task_id: uuid.UUID, *, for_update: bool = False) -> Task:
    query = select(Task).where(col(Task.id) == task_id)
    if for_update:
        query = query.with_for_update()
    task = (await session.execute(query)).scalar_one_or_none()
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


async def get_task_for_read(
    session: AsyncSession, viewer: Subject, task_id: uuid.UUID, *, count_view: bool = True
) -> Task:
    """Owner, or anyone when public (then counted as a view)."""
    task = await _load(session, task_id)
    if task.user_id == viewer.user_id:
        return task
    if not task.is_public:
        raise Forbidden(NOT_AUTHORIZED)
    if not count_view:
        return task
    views = await session.execute(
        update(Task)
        .where(col(Task.id) == task_id)
        .values(view_count=col(Task.view_count) + 1)
        .returning(col(Task.view_count))
    )
    task.view_count = views.scalar_one()
    return task


async def get_owned_task(
    session: AsyncSession, owner: Subject, task_id: uuid.UUID, *, for_update: bool = False
) -> Task:
    """The caller's own task, the one access check for writes and for owner-only reads
    (history, notifications, deliveries): 404 when missing, 403 when someone else's."""
    task = await _load(session, task_id, for_update=for_update)
    if task.user_id != owner.user_id:
        raise Forbidden(NOT_AUTHORIZED)
    return task


async def get_task_for_write(session: AsyncSession, owner: Subject, task_id: uuid.UUID) -> Task:
    return await get_owned_task(session, owner, task_id, for_update=True)


async def list_tasks(
    session: AsyncSession,
    owner: Subject,
    page: PageRequest,
    *,
    state: str | None = None,
    active: bool | None = None,
) -> TaskPage:
    params: dict[str, Any] = {"owner": owner.user_id}
    if state is not None:
        try:
            params["state"] = TaskState(state)
        except ValueError:
            allowed = ", ".join(s.value for s in TaskState)
            raise ValidationFailed.field(["query", "state"], f"Must be one of: {allowed}") from None
    rows, total = await fetch_page(session, _task_list(state is not None, active), page, params)
    return TaskPage(items=rows, total=total)


@cache
def _task_list(by_state: bool, active: bool | None) -> PagedQuery:
    """The owner's tasks, newest first, by filter shape (six of them), prepared once;
    the owner and the state are bind parameters."""
    conditions: list[ColumnElement[bool]] = [col(Task.user_id) == bindparam("owner")]
    if by_state:
        conditions.append(col(Task.state) == bindparam("state"))
    if active is not None:
        conditions.append(
            (col(Task.state) == TaskState.ACTIVE)
            if active
            else (col(Task.state) != TaskState.ACTIVE)
        )
    return PagedQuery(
        select(*inspect(Task).columns)
        .where(*conditions)
        .order_by(col(Task.created_at).desc(), col(Task.id))
    )


async def update_task(
    session: AsyncSession,
    scheduler: TaskScheduler,
    owner: Subject,
    task_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    policy: TaskPolicy,
) -> Task:
    task = await get_task_for_write(session, owner, task_id)
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValidationFailed.field(["body", sorted(unknown)[0]], "Field is not writable")
    target_state = changes.pop("state", None)
    values = await _validated_with_urls(changes, policy)
    if "name" in values and values["name"] is None:
        values["name"] = rules.name_from_query(values.get("search_query", task.search_query))

    effect = ScheduleEffect.NONE
    if target_state is not None:
        try:
            target = TaskState(target_state)
        except ValueError:
            allowed = ", ".join(s.value for s in TaskState)
            raise ValidationFailed.field(["body", "state"], f"Must be one of: {allowed}") from None
        effect = check_transition(task.state, target)
        if effect is not ScheduleEffect.NONE:
            task.state = target
            task.state_changed_at = utcnow()

    timing_changed = any(
        k in values and values[k] != getattr(task, k) for k in ("schedule", "timezone")
    )
    if "output_schema" in values and values["output_schema"] != task.output_schema:
        # The state extracted under another shape cannot be compared with the new one:
        # the next run starts over ("Initial execution").
        task.last_known_state = None
    for name, value in values.items():
        setattr(task, name, value)
    task.updated_at = utcnow()
    await session.flush()
    await _apply_schedule_effect(scheduler, task, effect, timing_changed)
    return task


async def _apply_schedule_effect(
    scheduler: TaskScheduler, task: Task, effect: ScheduleEffect, timing_changed: bool
) -> None:
    if effect is ScheduleEffect.DELETE:
        await scheduler.delete(task.id)
    elif effect is ScheduleEffect.CREATE or (timing_changed and has_schedule(task.state)):
        # `update` creates a missing schedule and sets cron, zone and pause in one go.
        await scheduler.update(schedule_spec(task))
    elif effect is ScheduleEffect.PAUSE:
        await scheduler.pause(task.id)
    elif effect is ScheduleEffect.UNPAUSE:
        await scheduler.unpause(task.id)


async def set_state(
    session: AsyncSession, scheduler: TaskScheduler, task: Task, target: TaskState
) -> None:
    """A state change made by the platform itself (e.g. `once` completing a task)."""
    effect = check_transition(task.state, target)
    if effect is ScheduleEffect.NONE:
        return
    task.state = target
    task.state_changed_at = task.updated_at = utcnow()
    await session.flush()
    await _apply_schedule_effect(scheduler, task, effect, timing_changed=False)


async def delete_task(
    session: AsyncSession, scheduler: TaskScheduler, owner: Subject, task_id: uuid.UUID
) -> None:
    task = await get_task_for_write(session, owner, task_id)
    await session.execute(delete(Task).where(col(Task.id) == task.id))
    await session.flush()
    await scheduler.delete(task.id)


async def set_visibility(
    session: AsyncSession, owner: Subject, task_id: uuid.UUID, is_public: bool
) -> Task:
    task = await get_task_for_write(session, owner, task_id)
    task.is_public = is_public
    task.updated_at = utcnow()
    await session.flush()
    return task


async def fork_task(
    session: AsyncSession,
    scheduler: TaskScheduler,
    forker: Subject,
    task_id: uuid.UUID,
    name: str | None,
) -> Task:
    source = await get_task_for_read(session, forker, task_id, count_view=False)
    own_source = source.user_id == forker.user_id
    fork = Task(
        user_id=forker.user_id,
        name=rules.check_name(name)
        if name is not None
        else rules.check_name(f"{source.name} (Copy)"[: rules.NAME_MAX]),
        search_query=source.search_query,
        condition_description=source.condition_description,
        schedule=source.schedule,
        timezone=source.timezone,
        notify_behavior=source.notify_behavior,
        executor_type=source.executor_type,
        config=dict(source.config),
        failure_threshold=source.failure_threshold,
        output_schema=source.output_schema,
        # Someone else's channels are theirs: a fork never inherits them.
        notifications=list(source.notifications) if own_source else [],
        state=TaskState.PAUSED,
        is_public=False,
        forked_from_task_id=source.id,
    )
    session.add(fork)
    if not own_source:
        await session.execute(
            update(Task)
            .where(col(Task.id) == source.id)
            .values(subscriber_count=Task.subscriber_count + 1)
        )
    await session.flush()
    await scheduler.create(schedule_spec(fork))
    return fork
