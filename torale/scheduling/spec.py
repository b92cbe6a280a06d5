"""What a task's Temporal schedule should look like, and how to tell if one does.

The server turns a cron string into calendar specs and forgets the string, so we
append the cron itself as a comment (`"*/5 * * * * # */5 * * * *"`): Temporal keeps
the text after `#` as the calendar's `comment`, both in `describe` and in the
`list_schedules` entries. Drift detection then compares that comment and the time
zone, from one listing, without a describe per schedule. A schedule edited by hand
with a plain cron has no comment and so counts as drifted.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)

from torale.scheduling.constants import (
    WORKFLOW_EXECUTION_TIMEOUT,
    WORKFLOW_TYPE,
    TaskExecutionInput,
    scheduled_workflow_id,
)
from torale.scheduling.cron import check_cron

PAUSED_NOTE = "Task paused"
ACTIVE_NOTE = "Task active"


@dataclass(frozen=True)
class ScheduleSpecForTask:
    task_id: UUID
    cron: str
    timezone: str = "UTC"
    paused: bool = False
    user_id: UUID | None = None

    def __post_init__(self) -> None:
        # The API validates these for the user; this guards the Temporal contract.
        check_cron(self.cron)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"Unknown timezone {self.timezone!r}") from exc

    @property
    def cron_normalized(self) -> str:
        return " ".join(self.cron.split())

    def memo(self) -> dict[str, str]:
        memo = {"task_id": str(self.task_id)}
        if self.user_id is not None:
            memo["user_id"] = str(self.user_id)
        return memo

    def temporal_spec(self) -> ScheduleSpec:
        cron = self.cron_normalized
        return ScheduleSpec(cron_expressions=[f"{cron} # {cron}"], time_zone_name=self.timezone)

    def to_schedule(self, task_queue: str) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(
                WORKFLOW_TYPE,
                TaskExecutionInput(task_id=str(self.task_id)),
                id=scheduled_workflow_id(self.task_id),
                task_queue=task_queue,
                memo=self.memo(),
                execution_timeout=WORKFLOW_EXECUTION_TIMEOUT,
            ),
            spec=self.temporal_spec(),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            state=ScheduleState(
                paused=self.paused, note=PAUSED_NOTE if self.paused else ACTIVE_NOTE
            ),
        )

    def spec_matches(self, spec: ScheduleSpec) -> bool:
        """Whether a server-side spec fires at our cron in our time zone (and nothing else)."""
        return (
            len(spec.calendars) == 1
            and spec.calendars[0].comment == self.cron_normalized
            and not spec.intervals
            and not spec.cron_expressions
            and not spec.skip
            and spec.start_at is None
            and spec.end_at is None
            and not spec.jitter
            and (spec.time_zone_name or "UTC") == self.timezone
        )

    def schedule_matches(self, schedule: Schedule, task_queue: str) -> bool:
        action = schedule.action
        return (
            self.spec_matches(schedule.spec)
            and schedule.state.paused == self.paused
            and schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
            and isinstance(action, ScheduleActionStartWorkflow)
            and action.workflow == WORKFLOW_TYPE
            and action.task_queue == task_queue
            and action.id == scheduled_workflow_id(self.task_id)
            and action.execution_timeout == WORKFLOW_EXECUTION_TIMEOUT
        )
