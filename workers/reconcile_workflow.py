"""The periodic reconciler as a Temporal workflow, fired by its own schedule.

Running it from a Temporal schedule (overlap: skip) rather than a timer inside each
worker means one pass at a time however many workers run, and the passes show up
in Temporal's UI next to the task runs.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

RECONCILE_WORKFLOW = "ReconcileSchedulesWorkflow"
RECONCILE_ACTIVITY = "reconcile_schedules"
RECONCILE_SCHEDULE_ID = "torale-reconcile-schedules"


@workflow.defn(name=RECONCILE_WORKFLOW)
class ReconcileSchedulesWorkflow:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            RECONCILE_ACTIVITY,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=3),
            result_type=str,
        )
