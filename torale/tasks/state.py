"""The task state machine (SPEC §5) and what each transition does to the schedule."""

from __future__ import annotations

from enum import StrEnum

from torale.errors import Conflict
from torale.tasks.models import TaskState

_ALLOWED: dict[TaskState, frozenset[TaskState]] = {
    TaskState.ACTIVE: frozenset({TaskState.PAUSED, TaskState.COMPLETED}),
    TaskState.PAUSED: frozenset({TaskState.ACTIVE, TaskState.COMPLETED}),
    TaskState.COMPLETED: frozenset({TaskState.ACTIVE}),
}


class ScheduleEffect(StrEnum):
    NONE = "none"
    PAUSE = "pause"
    UNPAUSE = "unpause"
    DELETE = "delete"
    CREATE = "create"


def check_transition(current: TaskState, target: TaskState) -> ScheduleEffect:
    """The schedule change a transition needs; 409 when the transition is illegal."""
    # Rows loaded from the database carry plain strings.
    current, target = TaskState(current), TaskState(target)
    if current == target:
        return ScheduleEffect.NONE
    if target not in _ALLOWED[current]:
        raise Conflict(f"Cannot change task state from {current.value} to {target.value}")
    if target == TaskState.COMPLETED:
        return ScheduleEffect.DELETE
    if current == TaskState.COMPLETED:
        return ScheduleEffect.CREATE
    return ScheduleEffect.PAUSE if target == TaskState.PAUSED else ScheduleEffect.UNPAUSE


def has_schedule(state: TaskState) -> bool:
    """Active and paused tasks own a schedule (paused: a paused one); completed do not."""
    return state != TaskState.COMPLETED
