"""Blocking and unblocking a user: nothing is deleted, everything can be undone by hand.

Deactivation marks the user, revokes every API key and pauses every active task
together with its Temporal schedule, in the caller's unit of work. The database rows
are written first and the schedules paused after; if Temporal refuses, the schedules
already paused are unpaused again (best effort) and `Unavailable` rolls the rows back,
so the request changes nothing. Whatever a failed undo leaves behind (a paused
schedule of an active task) is the drift the reconciler repairs.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.auth.subject import Subject
from torale.errors import Conflict, NotFound, ToraleError
from torale.models_base import utcnow
from torale.tasks.models import Task, TaskState
from torale.users.models import User, UserState
from torale.users.service import revoke_all_api_keys

if TYPE_CHECKING:
    from torale.scheduling.scheduler import TaskScheduler

USER_NOT_FOUND = "User not found"
SELF_DEACTIVATION = "You cannot deactivate your own account"
DEACTIVATED_NOTE = "Task paused: owner deactivated"
# Enough to pause a large account quickly without flooding Temporal's frontend.
_CONCURRENT_PAUSES = 8


@dataclass(frozen=True, slots=True)
class Deactivation:
    user_id: uuid.UUID
    tasks_paused: int


async def _load_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = (
        await session.execute(select(User).where(col(User.id) == user_id).with_for_update())
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


async def pause_all_for_user(
    session: AsyncSession, scheduler: TaskScheduler, user_id: uuid.UUID
) -> int:
    """Pause the user's active tasks and their schedules; the number paused.

    One UPDATE for the rows, then one pause per schedule (bounded concurrency).
    Raises `Unavailable` when Temporal refuses, after undoing the pauses it made.
    """
    now = utcnow()
    paused_ids = list(
        (
            await session.execute(
                update(Task)
                .where(col(Task.user_id) == user_id, col(Task.state) == TaskState.ACTIVE)
                .values(state=TaskState.PAUSED, state_changed_at=now, updated_at=now)
                .returning(col(Task.id))
                .execution_options(synchronize_session=False)
            )
        ).scalars()
    )
    limit = asyncio.Semaphore(_CONCURRENT_PAUSES)

    async def pause(task_id: uuid.UUID) -> None:
        async with limit:
            # A missing schedule (drift) is recreated paused by the reconciler.
            await scheduler.pause(task_id, note=DEACTIVATED_NOTE)

    try:
        async with asyncio.TaskGroup() as group:
            for task_id in paused_ids:
                group.create_task(pause(task_id))
    except* ToraleError as failure:
        await _unpause_best_effort(scheduler, paused_ids)
        raise failure.exceptions[0] from None
    return len(paused_ids)


async def _unpause_best_effort(scheduler: TaskScheduler, task_ids: list[uuid.UUID]) -> None:
    # Unpausing a schedule that was never paused is harmless, so undo them all;
    # concurrently, since with Temporal down each attempt waits out its deadline.
    limit = asyncio.Semaphore(_CONCURRENT_PAUSES)

    async def unpause(task_id: uuid.UUID) -> None:
        async with limit:
            with contextlib.suppress(ToraleError):
                await scheduler.unpause(task_id)

    await asyncio.gather(*(unpause(t) for t in task_ids))


async def deactivate_user(
    session: AsyncSession, scheduler: TaskScheduler, actor: Subject, user_id: uuid.UUID
) -> Deactivation:
    """Block the user; repeating it is harmless (nothing left to pause or revoke)."""
    if user_id == actor.user_id:
        # An admin locking themself out could leave the platform without any admin.
        raise Conflict(SELF_DEACTIVATION)
    user = await _load_user(session, user_id)
    if user.state != UserState.DEACTIVATED:
        user.state = UserState.DEACTIVATED
        user.deactivated_at = user.updated_at = utcnow()
    await revoke_all_api_keys(session, user_id)
    await session.flush()
    paused = await pause_all_for_user(session, scheduler, user_id)
    return Deactivation(user_id=user_id, tasks_paused=paused)


async def activate_user(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID:
    """Let the user sign in again; tasks stay paused and revoked keys stay revoked."""
    user = await _load_user(session, user_id)
    if user.state != UserState.ACTIVE:
        user.state = UserState.ACTIVE
        user.deactivated_at = None
        user.updated_at = utcnow()
        await session.flush()
    return user_id
