"""Export a user's tasks as portable JSON, and import such a document back.

An export carries what is needed to recreate each task somewhere else: its fields,
its state and its notification channels, and nothing secret. Webhook header values
(typically `Authorization` tokens) are withheld: a channel lists the names it had
under `redacted_headers`, so the owner knows what to add again after an import. The
signing secret is per user and never part of a task.

An import validates every item exactly as task create does (`service.create_task`),
and is idempotent per item: the item's name (given, or generated from its query as on
create) is its key, and an item whose name the user already has, or that repeats an
earlier item's name, is skipped. Items are reported one by one (created, skipped or
invalid). `dry_run` decides everything and writes nothing; `atomic` creates nothing
unless every item is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, get_args, get_origin

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.auth.subject import Subject
from torale.errors import FieldError, ToraleError, ValidationFailed
from torale.models_base import utcnow
from torale.tasks import service
from torale.tasks.inputs import CREATE_FIELDS, REQUIRED, TASK_FIELDS
from torale.tasks.models import Task, TaskState

if TYPE_CHECKING:
    from torale.scheduling.scheduler import TaskScheduler

EXPORT_VERSION = 1
# One import is one request (1 MiB body at most); this bounds the work it may ask for.
IMPORT_MAX_ITEMS = 500

# The fields an export item carries, which are also the fields an import item may set:
# what create takes (but `run_immediately`, which is no part of a task) and its state.
EXPORTED_FIELDS = (*(name for name in CREATE_FIELDS if name != "run_immediately"), "state")
_CREATE_FIELDS = frozenset(EXPORTED_FIELDS) - {"state"}
_REQUIRED = tuple(name for name in CREATE_FIELDS if TASK_FIELDS[name].default is REQUIRED)


class ItemStatus:
    CREATED = "created"
    SKIPPED = "skipped"
    INVALID = "invalid"
    # Valid, but creating it failed (e.g. the scheduler was unavailable); retry later.
    FAILED = "failed"


def exported_channel(channel: dict[str, Any]) -> dict[str, Any]:
    """A channel without secrets: webhook header values are replaced by their names."""
    shown = {k: v for k, v in channel.items() if k != "headers"}
    if channel.get("headers"):
        shown["redacted_headers"] = sorted(channel["headers"])
    return shown


def exported_task(task: Task) -> dict[str, Any]:
    item = {name: getattr(task, name) for name in EXPORTED_FIELDS}
    item["state"] = str(TaskState(task.state))
    item["notify_behavior"] = str(item["notify_behavior"])
    item["notifications"] = [exported_channel(c) for c in task.notifications]
    return item


@dataclass(frozen=True, slots=True)
class TaskExport:
    version: int
    exported_at: datetime
    tasks: list[dict[str, Any]]


async def export_tasks(session: AsyncSession, owner: Subject) -> TaskExport:
    rows = await session.execute(
        select(Task)
        .where(col(Task.user_id) == owner.user_id)
        .order_by(col(Task.created_at), col(Task.id))
    )
    return TaskExport(
        version=EXPORT_VERSION,
        exported_at=utcnow(),
        tasks=[exported_task(task) for task in rows.scalars()],
    )


@dataclass
class ItemResult:
    index: int
    status: str
    name: str | None = None
    task_id: Any = None
    reason: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ImportReport:
    dry_run: bool
    atomic: bool
    applied: bool
    items: list[ItemResult]

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)


@dataclass
class _Planned:
    result: ItemResult
    data: dict[str, Any] | None = None
    state: TaskState = TaskState.ACTIVE


def _item_errors(index: int, errors: list[FieldError]) -> list[dict[str, Any]]:
    # A field's `loc` is ["body", field, ...] as on create; here it names the item.
    return [
        FieldError(["tasks", index, *e.loc[1:]], e.msg, e.type).as_dict()
        if e.loc[:1] == ("body",)
        else e.as_dict()
        for e in errors
    ]


_FIELDS_IN = frozenset(EXPORTED_FIELDS)


def _whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# JSON types, as create's request model enforces them before its rules run: by the
# Python type of each field's `wire`. A list's rule words its own message.
_JSON_TYPES: dict[type, tuple[Callable[[Any], bool], str]] = {
    str: (lambda value: isinstance(value, str), "Must be a string"),
    bool: (lambda value: isinstance(value, bool), "Must be a boolean"),
    int: (_whole_number, "Must be a whole number"),
    dict: (lambda value: isinstance(value, dict), "Must be an object"),
}


def _json_type(wire: Any) -> Any:
    if get_origin(wire) is Annotated:
        wire = get_args(wire)[0]
    return get_origin(wire) or wire


_EXPECTED = {
    name: _JSON_TYPES[kind]
    for name in EXPORTED_FIELDS
    if (kind := _json_type(TASK_FIELDS[name].wire)) in _JSON_TYPES
}


def _type_error(name: str, value: Any) -> str | None:
    if value is None or name not in _EXPECTED:
        return None  # null: create's rules say which fields may be null
    accepts, message = _EXPECTED[name]
    return None if accepts(value) else message


def _shape_errors(item: Any) -> list[FieldError]:
    if not isinstance(item, dict):
        return [FieldError(["body"], "Each task must be an object")]
    errors = [
        FieldError(["body", name], "Unknown field") for name in sorted(set(item) - _FIELDS_IN)
    ]
    missing = [name for name in _REQUIRED if name not in item]
    errors += [FieldError(["body", name], "Field required") for name in missing]
    for name in EXPORTED_FIELDS:
        problem = _type_error(name, item.get(name))
        if problem:
            errors.append(FieldError(["body", name], problem))
    return errors


def _import_channel(channel: Any) -> Any:
    # An exported channel names the headers it lost; they are not part of a channel.
    if isinstance(channel, dict) and "redacted_headers" in channel:
        return {k: v for k, v in channel.items() if k != "redacted_headers"}
    return channel


async def _plan_item(index: int, item: Any, policy: service.TaskPolicy) -> _Planned:
    result = ItemResult(index=index, status=ItemStatus.INVALID)
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        result.name = item["name"]
    problems = _shape_errors(item)
    if problems:
        result.errors = _item_errors(index, problems)
        return _Planned(result)
    values = {k: v for k, v in item.items() if k in _CREATE_FIELDS}
    if isinstance(values.get("notifications"), list):
        values["notifications"] = [_import_channel(c) for c in values["notifications"]]
    state = TaskState.ACTIVE
    try:
        if "state" in item:
            state = _check_state(item["state"])
        # Exactly create's checks (fields, reachable URLs, the name it would be given).
        await service.validated_create_values(values, policy)
        name = service.create_name(values.get("name"), values["search_query"])
    except ValidationFailed as exc:
        result.errors = _item_errors(index, exc.errors)
        return _Planned(result)
    result.name = name
    result.status = ItemStatus.CREATED
    return _Planned(result, data=values, state=state)


def _check_state(value: Any) -> TaskState:
    try:
        return TaskState(value)
    except ValueError:
        allowed = ", ".join(s.value for s in TaskState)
        raise ValidationFailed.field(["body", "state"], f"Must be one of: {allowed}") from None


async def _existing_names(session: AsyncSession, owner: Subject, names: set[str]) -> set[str]:
    if not names:
        return set()
    rows = await session.execute(
        select(col(Task.name)).where(col(Task.user_id) == owner.user_id, col(Task.name).in_(names))
    )
    return set(rows.scalars())


async def _lock_owner_imports(session: AsyncSession, owner: Subject) -> None:
    """Two imports of one user at once would both miss each other's names: one at a time."""
    key = func.hashtextextended(f"torale:task-import:{owner.user_id}", 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def import_tasks(
    session: AsyncSession,
    scheduler: TaskScheduler,
    owner: Subject,
    items: list[Any],
    *,
    policy: service.TaskPolicy,
    dry_run: bool = False,
    atomic: bool = False,
) -> ImportReport:
    if len(items) > IMPORT_MAX_ITEMS:
        raise ValidationFailed.field(
            ["body", "tasks"], f"At most {IMPORT_MAX_ITEMS} tasks per import"
        )
    if not dry_run:
        await _lock_owner_imports(session, owner)
    planned = [await _plan_item(i, item, policy) for i, item in enumerate(items)]
    candidates = [p for p in planned if p.data is not None]
    names = {p.result.name for p in candidates if p.result.name is not None}
    existing = await _existing_names(session, owner, names)
    seen: set[str] = set()
    for plan in candidates:
        name = plan.result.name
        assert name is not None
        if name in existing:
            plan.result.status, plan.result.reason = (
                ItemStatus.SKIPPED,
                "A task with this name exists",
            )
            plan.data = None
        elif name in seen:
            plan.result.status = ItemStatus.SKIPPED
            plan.result.reason = "An earlier item has this name"
            plan.data = None
        seen.add(name)

    report = ImportReport(
        dry_run=dry_run, atomic=atomic, applied=False, items=[p.result for p in planned]
    )
    if dry_run or (atomic and report.count(ItemStatus.INVALID)):
        return report
    for plan in planned:
        if plan.data is None:
            continue
        plan.result.task_id = await _create(session, scheduler, owner, plan, policy, atomic)
    report.applied = True
    return report


async def _create(
    session: AsyncSession,
    scheduler: TaskScheduler,
    owner: Subject,
    plan: _Planned,
    policy: service.TaskPolicy,
    atomic: bool,
) -> Any:
    assert plan.data is not None
    if atomic:
        # A failure (Temporal down) propagates: the request's unit of work rolls all back.
        task = await service.create_task(
            session, scheduler, owner, plan.data, policy=policy, state=plan.state
        )
        return task.id
    try:
        async with session.begin_nested():
            task = await service.create_task(
                session, scheduler, owner, plan.data, policy=policy, state=plan.state
            )
            return task.id
    except ToraleError as exc:
        # This item alone is rolled back (its savepoint); the others stand.
        plan.result.status, plan.result.reason = ItemStatus.FAILED, exc.message
        return None
