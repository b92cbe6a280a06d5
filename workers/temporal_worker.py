"""`torale worker temporal`: runs our workflows and activities on the task queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from datetime import timedelta
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.worker import Worker

from torale.config import Settings
from torale.db import create_engine, session_factory
from torale.executions.liveness import sweep_stale_executions
from torale.observability import tracing
from torale.scheduling.scheduler import TaskScheduler
from torale.tasks.reconcile import reconcile_tasks
from torale.webhooks.queue import DeliveryProducer
from workers.execution_activities import ExecutionActivities
from workers.execution_steps import ExecutionTuning
from workers.execution_workflow import TaskExecutionWorkflow
from workers.reconcile_workflow import (
    RECONCILE_ACTIVITY,
    RECONCILE_SCHEDULE_ID,
    RECONCILE_WORKFLOW,
    ReconcileSchedulesWorkflow,
)

log = logging.getLogger(__name__)

RECONCILE_EVERY = timedelta(minutes=5)


class SchedulingActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], client: Client, scheduler: TaskScheduler
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._scheduler = scheduler

    @activity.defn(name=RECONCILE_ACTIVITY)
    async def reconcile(self) -> str:
        """Repair schedule drift, and fail executions whose workflow ended without saying so."""
        report = await reconcile_tasks(self._sessions, self._scheduler)
        if report.fixes:
            log.warning("reconciler repaired drift:\n%s", report)
        stale = await sweep_stale_executions(self._sessions, self._client)
        if stale:
            log.warning("marked %d executions failed whose workflow had ended", stale)
        return f"{report}; {stale} stale executions failed"


async def ensure_reconcile_schedule(client: Client, task_queue: str) -> None:
    # Another worker may have made it already: then there is nothing to do.
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(
            RECONCILE_SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    RECONCILE_WORKFLOW, id=RECONCILE_SCHEDULE_ID, task_queue=task_queue
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=RECONCILE_EVERY)]),
                policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            ),
        )


def build_worker(settings: Settings, client: Client) -> Worker:
    sessions = session_factory(create_engine(settings))
    scheduler = TaskScheduler(client, settings.temporal_task_queue)
    scheduling = SchedulingActivities(sessions, client, scheduler)
    executions = ExecutionActivities(
        settings,
        sessions,
        scheduler,
        ExecutionTuning.from_settings(settings),
        # Executions hand their deliveries to this broker.
        deliveries=DeliveryProducer.from_settings(settings),
    )
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[ReconcileSchedulesWorkflow, TaskExecutionWorkflow],
        activities=[scheduling.reconcile, *executions.activities()],
    )


async def run(settings: Settings) -> None:
    assert settings.temporal_address
    tracing.setup("torale-temporal-worker")
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        # Its workers use the client's interceptors too: workflows and activities traced.
        interceptors=tracing.temporal_interceptors(),
    )
    await ensure_reconcile_schedule(client, settings.temporal_task_queue)
    worker = build_worker(settings, client)
    log.info("Temporal worker polling task queue %s", settings.temporal_task_queue)
    await run_until_interrupted(worker)
    log.info("Temporal worker stopped")


async def run_until_interrupted(worker: Worker) -> None:
    """Run `worker` until it fails or Ctrl-C asks it to stop, then shut it down.

    Ctrl-C is an event we wait for, not the cancellation asyncio.run would send into the
    running worker: a cancellation that lands while the worker is still starting can be
    absorbed there, and the worker then polled on, deaf to the one Ctrl-C it had got."""
    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, interrupted.set)
    running = asyncio.create_task(worker.run())
    waiting = asyncio.create_task(interrupted.wait())
    try:
        await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not running.done():
            await worker.shutdown()
        await running  # the worker's own failure, if it failed
    finally:
        waiting.cancel()
        loop.remove_signal_handler(signal.SIGINT)


def main(settings: Settings) -> None:
    asyncio.run(run(settings))


def exit_without_finalizing() -> NoReturn:
    """Leave the process once the worker has shut down, without interpreter finalization.

    The Temporal SDK's Rust threads can call into Python while the interpreter finalizes,
    which aborts the process (SIGABRT, "PyGILState_Release: thread state ... must be
    current when releasing"; temporalio/sdk-python#300): about one Ctrl-C in ten here.
    Everything finalization would still do for us is done first: spans sent, logs
    flushed. Call it after the services the process started are stopped."""
    tracing.flush()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
