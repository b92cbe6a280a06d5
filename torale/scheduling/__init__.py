"""Temporal schedules for tasks: one schedule per task, kept in step by a reconciler.

The names that need the Temporal SDK (the scheduler, the schedule spec, the
reconciler) are imported on first access, so that importing a light module of this
package (`constants`, `cron`) does not load the SDK into the API.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from torale.scheduling.constants import (
    WORKFLOW_TYPE,
    TaskExecutionInput,
    default_task_queue,
    execution_workflow_id,
    schedule_id,
    scheduled_workflow_id,
    task_id_from_schedule_id,
)
from torale.scheduling.cron import check_cron, next_run_at, next_run_times

if TYPE_CHECKING:
    from torale.scheduling.reconciler import Fix, FixKind, ReconcileReport, reconcile
    from torale.scheduling.scheduler import UNAVAILABLE_MESSAGE, TaskScheduleInfo, TaskScheduler
    from torale.scheduling.spec import ScheduleSpecForTask

_NEEDING_TEMPORAL = {
    "Fix": "torale.scheduling.reconciler",
    "FixKind": "torale.scheduling.reconciler",
    "ReconcileReport": "torale.scheduling.reconciler",
    "reconcile": "torale.scheduling.reconciler",
    "UNAVAILABLE_MESSAGE": "torale.scheduling.scheduler",
    "TaskScheduleInfo": "torale.scheduling.scheduler",
    "TaskScheduler": "torale.scheduling.scheduler",
    "ScheduleSpecForTask": "torale.scheduling.spec",
}


def __getattr__(name: str) -> Any:
    module = _NEEDING_TEMPORAL.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "UNAVAILABLE_MESSAGE",
    "WORKFLOW_TYPE",
    "Fix",
    "FixKind",
    "ReconcileReport",
    "ScheduleSpecForTask",
    "TaskExecutionInput",
    "TaskScheduleInfo",
    "TaskScheduler",
    "check_cron",
    "default_task_queue",
    "execution_workflow_id",
    "next_run_at",
    "next_run_times",
    "reconcile",
    "schedule_id",
    "scheduled_workflow_id",
    "task_id_from_schedule_id",
]
