"""Everyone's public tasks, for browsing and forking (the dashboard's public page)."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from torale.pagination import PageRequest
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
    conditions = [Task.is_public.is_(True), User.state == UserState.ACTIVE]
    text = " ".join((search or "").split())[:SEARCH_MAX]
    if text:
        pattern = _like(text)
        conditions.append(
            or_(
                Task.name.ilike(pattern, escape="\\"),
                Task.search_query.ilike(pattern, escape="\\"),
                Task.condition_description.ilike(pattern, escape="\\"),
            )
        )
    joined = select(Task).join(User, User.id == Task.user_id).where(*conditions)
    total = (
        await session.execute(select(func.count()).select_from(joined.subquery()))
    ).scalar_one()
    rows = await session.execute(
        joined.order_by(
            Task.subscriber_count.desc(), Task.view_count.desc(), Task.created_at.desc(), Task.id
        )
        .offset(page.offset)
        .limit(page.limit)
    )
    return TaskPage(items=list(rows.scalars()), total=total)
