"""Temporal schedules for tasks: one schedule per task, kept in step by a reconciler."""

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
from torale.scheduling.reconciler import Fix, FixKind, ReconcileReport, reconcile
from torale.scheduling.scheduler import UNAVAILABLE_MESSAGE, TaskScheduleInfo, TaskScheduler
from torale.scheduling.spec import ScheduleSpecForTask

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
