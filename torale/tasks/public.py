"""Everyone's public tasks, for browsing and forking (the dashboard's public page)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.pagination import PageRequest, fetch_entity_page
from torale.tasks.models import Task
from torale.tasks.service import TaskPage
from torale.users.models import User, UserState

SEARCH_MAX = 200


def _like(text: str) -> str:
    """`text` as a literal inside ILIKE: its own % and _ match only themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_public_tasks(
    session: AsyncSession, page: PageRequest, *, search: str | None = None
) -> TaskPage:
    """Public tasks of active users, most forked first; `search` matches the name, the
    query or the condition, ignoring case."""
    conditions: list[ColumnElement[bool]] = [
        col(Task.is_public).is_(True),
        col(User.state) == UserState.ACTIVE,
    ]
    text = " ".join((search or "").split())[:SEARCH_MAX]
    if text:
        pattern = _like(text)
        conditions.append(
            or_(
                col(Task.name).ilike(pattern, escape="\\"),
                col(Task.search_query).ilike(pattern, escape="\\"),
                col(Task.condition_description).ilike(pattern, escape="\\"),
            )
        )
    items, total = await fetch_entity_page(
        session,
        select(Task)
        .join(User, col(User.id) == col(Task.user_id))
        .where(*conditions)
        .order_by(
            col(Task.subscriber_count).desc(),
            col(Task.view_count).desc(),
            col(Task.created_at).desc(),
            col(Task.id),
        ),
        page,
    )
    return TaskPage(items=items, total=total)
