"""Platform-wide figures and lists for admins, each computed by the database.

Every figure is an aggregate (`COUNT(*) FILTER`, `AVG(EXTRACT(epoch ...))`) or a
paginated query with joins: no endpoint here loads rows into Python to count them.
Windows are measured against the database clock (`now()`), the same clock that
stamped the rows.

Definitions the contract leaves open:
- `users.active_30d`: users who signed in (`last_login`) or had an execution of one
  of their tasks in the last 30 days; API-key users never "sign in", so their
  monitoring activity has to count.
- `success_rate`: successful executions over finished ones (success + failed), a
  fraction in 0..1; null while nothing has finished. Pending/running runs would only
  dilute it.
- Durations are `completed_at - started_at` in milliseconds; executions missing either
  stamp have none and are left out of averages.
- `notifications`: executions whose notification was sent, by `created_at`.
- `deliveries`: counts of the delivery rows now, no window (torale.webhooks.outbox
  defines due and stranded, with the clock that stamps the leases).
- `active_only` on the user list: users whose account is active (not deactivated).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Result,
    Row,
    and_,
    cast,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.errors import ValidationFailed
from torale.executions.models import Execution, ExecutionStatus
from torale.executions.service import check_status
from torale.pagination import PageRequest, fetch_page
from torale.tasks.models import Task, TaskState
from torale.users.models import User, UserState
from torale.webhooks.outbox import delivery_figures

DEFAULT_HOURS = 24
MIN_HOURS = 1
# 30 days: the longest window an admin view offers; wider scans belong in reports.
MAX_HOURS = 720
POPULAR_QUERIES = 10
UNKNOWN_ERROR_TYPE = "unknown"


@dataclass(frozen=True, slots=True)
class RowPage:
    items: list[Row[Any]]
    total: int


def check_hours(hours: int) -> int:
    if not MIN_HOURS <= hours <= MAX_HOURS:
        raise ValidationFailed.field(
            ["query", "hours"], f"Must be between {MIN_HOURS} and {MAX_HOURS}"
        )
    return hours


def _since(**delta: float) -> Any:
    return func.now() - timedelta(**delta)


def _duration_ms() -> Any:
    return extract("epoch", col(Execution.completed_at) - col(Execution.started_at)) * 1000


def _avg_duration_ms(*conditions: Any) -> Any:
    average: ColumnElement[Any] = func.avg(_duration_ms())
    if conditions:
        average = average.filter(and_(*conditions))
    return cast(average, Float)


# --- /admin/stats


async def platform_stats(session: AsyncSession) -> dict[str, Any]:
    """Five aggregate queries (users, tasks, executions, deliveries, popular queries);
    no row loading."""
    recent_activity = exists().where(
        col(Task.user_id) == col(User.id),
        col(Execution.task_id) == col(Task.id),
        Execution.created_at >= _since(days=30),
    )
    users = (
        await session.execute(
            select(
                func.count().label("total"),
                func.count()
                .filter(or_(User.last_login >= _since(days=30), recent_activity))
                .label("active_30d"),
                func.count().filter(User.created_at >= _since(days=7)).label("new_7d"),
            )
        )
    ).one()
    tasks = (
        await session.execute(
            select(
                func.count().label("total"),
                *(
                    func.count().filter(col(Task.state) == state).label(state.value)
                    for state in TaskState
                ),
            )
        )
    ).one()
    day = Execution.created_at >= _since(hours=24)
    executions = (
        await session.execute(
            # The 7-day scan covers every window asked about; FILTER narrows each figure.
            select(
                func.count().filter(day).label("total_24h"),
                func.count()
                .filter(day, col(Execution.status) == ExecutionStatus.SUCCESS)
                .label("success_24h"),
                func.count()
                .filter(day, col(Execution.status) == ExecutionStatus.FAILED)
                .label("failed_24h"),
                _avg_duration_ms(day).label("avg_duration_ms"),
                func.count().filter(day, col(Execution.notification_sent)).label("sent_24h"),
                func.count().filter(col(Execution.notification_sent)).label("sent_7d"),
            ).where(Execution.created_at >= _since(days=7))
        )
    ).one()
    popular: Result[str, int] = await session.execute(
        select(col(Task.search_query).label("query"), func.count().label("count"))
        .group_by(Task.search_query)
        .order_by(func.count().desc(), Task.search_query)
        .limit(POPULAR_QUERIES)
    )
    return {
        "users": users._asdict(),
        "tasks": tasks._asdict(),
        "executions": {
            k: executions._mapping[k]
            for k in ("total_24h", "success_24h", "failed_24h", "avg_duration_ms")
        },
        "notifications": {k: executions._mapping[k] for k in ("sent_24h", "sent_7d")},
        "deliveries": await delivery_figures(session),
        "popular_queries": [row._asdict() for row in popular],
    }


# --- /admin/queries


async def query_stats(session: AsyncSession, page: PageRequest) -> RowPage:
    """Per distinct search query, busiest first: one grouped query, counting its groups."""
    finished = col(Execution.status).in_([ExecutionStatus.SUCCESS, ExecutionStatus.FAILED])
    succeeded = func.count(col(Execution.id)).filter(
        col(Execution.status) == ExecutionStatus.SUCCESS
    )
    total_tasks = func.count(col(Task.id).distinct())
    rows, total = await fetch_page(
        session,
        select(
            col(Task.search_query),
            total_tasks.label("total_tasks"),
            func.count(col(Task.id).distinct())
            .filter(col(Task.state) == TaskState.ACTIVE)
            .label("active_tasks"),
            func.count(col(Execution.id)).label("total_executions"),
            (
                cast(succeeded, Float)
                / func.nullif(func.count(col(Execution.id)).filter(finished), 0)
            ).label("success_rate"),
            _avg_duration_ms().label("avg_duration_ms"),
        )
        .select_from(Task)
        .outerjoin(Execution, col(Execution.task_id) == col(Task.id))
        .group_by(Task.search_query)
        .order_by(total_tasks.desc(), func.count(col(Execution.id)).desc(), Task.search_query),
        page,
    )
    return RowPage(items=rows, total=total)


# --- /admin/executions and /admin/errors


def _execution_columns() -> list[Any]:
    return [
        *(
            getattr(Execution, name)
            for name in (
                "id",
                "task_id",
                "status",
                "trigger",
                "workflow_id",
                "started_at",
                "completed_at",
                "condition_met",
                "result",
                "change_summary",
                "error_message",
                "error_type",
                "attempt",
                "notification_sent",
                "created_at",
            )
        ),
        col(Task.name).label("task_name"),
        Task.search_query,
        Task.user_id,
        col(User.email).label("user_email"),
        cast(func.round(_duration_ms()), Integer).label("duration_ms"),
    ]


async def list_executions(
    session: AsyncSession,
    page: PageRequest,
    *,
    hours: int = DEFAULT_HOURS,
    status: str | None = None,
) -> RowPage:
    """Every user's executions of the last `hours`, newest first, with owner and query."""
    conditions: list[ColumnElement[bool]] = [
        col(Execution.created_at) >= _since(hours=check_hours(hours))
    ]
    wanted = check_status(status)
    if wanted is not None:
        conditions.append(col(Execution.status) == wanted)
    rows, total = await fetch_page(
        session,
        select(*_execution_columns())
        .select_from(Execution)
        .join(Task, col(Task.id) == col(Execution.task_id))
        .join(User, col(User.id) == col(Task.user_id))
        .where(*conditions)
        .order_by(col(Execution.created_at).desc(), col(Execution.id)),
        page,
    )
    return RowPage(items=rows, total=total)


async def error_types(session: AsyncSession, *, hours: int = DEFAULT_HOURS) -> dict[str, int]:
    """Failed executions of the window counted by their stored `error_type`."""
    kind = func.coalesce(Execution.error_type, literal(UNKNOWN_ERROR_TYPE))
    rows = await session.execute(
        select(kind, func.count())
        .where(
            col(Execution.status) == ExecutionStatus.FAILED,
            Execution.created_at >= _since(hours=check_hours(hours)),
        )
        .group_by(kind)
        .order_by(func.count().desc(), kind)
    )
    return {name: count for name, count in rows}


# --- /admin/users


async def list_users(session: AsyncSession, page: PageRequest, *, active_only: bool) -> RowPage:
    """Users newest first with their activity figures, from one query with lateral joins."""
    tasks = (
        select(
            func.count().label("tasks_count"),
            func.count().filter(col(Task.state) == TaskState.ACTIVE).label("active_tasks_count"),
        )
        .where(col(Task.user_id) == col(User.id))
        .lateral("task_counts")
    )
    activity = (
        select(
            func.count().filter(Execution.created_at >= _since(hours=24)).label("executions_24h"),
            func.count().filter(col(Execution.notification_sent)).label("notifications_7d"),
        )
        .select_from(Execution)
        .join(Task, col(Task.id) == col(Execution.task_id))
        .where(col(Task.user_id) == col(User.id), Execution.created_at >= _since(days=7))
        .lateral("activity")
    )
    conditions: list[ColumnElement[bool]] = (
        [col(User.state) == UserState.ACTIVE] if active_only else []
    )
    rows, total = await fetch_page(
        session,
        select(
            col(User.id),
            col(User.email),
            col(User.clerk_user_id),
            col(User.role),
            col(User.state),
            col(User.created_at),
            col(User.last_login),
            col(User.deactivated_at),
            tasks.c.tasks_count,
            tasks.c.active_tasks_count,
            activity.c.executions_24h,
            activity.c.notifications_7d,
        )
        .select_from(User)
        .join(tasks, true())
        .join(activity, true())
        .where(*conditions)
        .order_by(col(User.created_at).desc(), col(User.id)),
        page,
    )
    return RowPage(items=rows, total=total)


async def task_owner_emails(
    session: AsyncSession, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Owner email of each task that exists, in one `IN (...)` query."""
    if not task_ids:
        return {}
    rows = await session.execute(
        select(col(Task.id), col(User.email))
        .join(User, col(User.id) == col(Task.user_id))
        .where(col(Task.id).in_(task_ids))
    )
    return {task_id: email for task_id, email in rows}
