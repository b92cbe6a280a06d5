"""Names shared by the scheduler (API side) and the Temporal worker.

The workflow is started by *name* so the API never imports worker code; the worker
registers its workflow class under `WORKFLOW_TYPE` and takes `TaskExecutionInput`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from uuid import UUID

from torale.config import get_settings

WORKFLOW_TYPE = "TaskExecutionWorkflow"
# Backstop only: a run is bounded by its activities' timeouts and retries (and a manual
# run waits at most 15 minutes for a busy task). Past this, Temporal ends the workflow
# and the reconcile pass marks its row failed.
WORKFLOW_EXECUTION_TIMEOUT = timedelta(hours=1)
SCHEDULE_ID_PREFIX = "task-"
EXECUTION_ID_PREFIX = "execution-"

Trigger = Literal["schedule", "manual"]


@dataclass(frozen=True)
class TaskExecutionInput:
    """The one argument of the task-execution workflow.

    `execution_id` is None when a schedule fired (the workflow creates the execution
    row); the API passes the id of the row it already created for a manual run.
    """

    task_id: str
    execution_id: str | None = None
    trigger: Trigger = "schedule"


def default_task_queue() -> str:
    return get_settings().temporal_task_queue


def schedule_id(task_id: UUID) -> str:
    return f"{SCHEDULE_ID_PREFIX}{task_id}"


def task_id_from_schedule_id(value: str) -> UUID | None:
    """The task a schedule belongs to, or None for schedules that are not ours."""
    if not value.startswith(SCHEDULE_ID_PREFIX):
        return None
    try:
        return UUID(value[len(SCHEDULE_ID_PREFIX) :])
    except ValueError:
        return None


def scheduled_workflow_id(task_id: UUID) -> str:
    """Workflow id given to a schedule's action.

    Temporal appends the scheduled time (`-2026-11-29T14:22:17Z`) to the id of each
    workflow a schedule starts, so every run still gets a unique id.
    """
    return f"{EXECUTION_ID_PREFIX}{schedule_id(task_id)}"


def execution_workflow_id(execution_id: UUID) -> str:
    """Workflow id of a run started directly (not by a schedule) for one execution row."""
    return f"{EXECUTION_ID_PREFIX}{execution_id}"
