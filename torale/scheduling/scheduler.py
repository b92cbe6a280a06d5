"""One Temporal Schedule per task: create, update, pause, delete, describe, trigger.

Every method either did what it says or raises `Unavailable` — the caller then rolls
back its database change, so the DB and Temporal never disagree for long (the
reconciler repairs the rest). "Already exists" and "not found" are answers, not
failures: create and update are upserts, delete of a missing schedule is a no-op.

Timeouts: the SDK retries UNAVAILABLE with backoff (about 6 s before giving up on a
refused connection, regardless of `rpc_timeout`, which bounds one attempt), so each
method also runs under an overall deadline. A request cut off by the deadline may
still have reached the server; the reconciler removes any schedule so orphaned.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from temporalio.client import (
    Client,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleListDescription,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from torale.errors import Unavailable
from torale.scheduling.connection import TemporalConnection
from torale.scheduling.constants import (
    SCHEDULE_ID_PREFIX,
    WORKFLOW_EXECUTION_TIMEOUT,
    WORKFLOW_TYPE,
    TaskExecutionInput,
    default_task_queue,
    execution_workflow_id,
    schedule_id,
    task_id_from_schedule_id,
)
from torale.scheduling.spec import ACTIVE_NOTE, PAUSED_NOTE, ScheduleSpecForTask

UNAVAILABLE_MESSAGE = "Scheduler unavailable, nothing was changed"
# A visibility query carries every id of a batch; keep it well below server limits.
_IDS_PER_QUERY = 100
# create <-> update can race a concurrent delete; a few rounds settle it.
_RACE_RETRIES = 3

T = TypeVar("T")


@dataclass(frozen=True)
class TaskScheduleInfo:
    task_id: UUID
    cron: str | None  # None when the schedule was not written by us (drift)
    timezone: str
    paused: bool
    next_run_at: datetime | None  # None while paused
    note: str | None
    created_at: datetime


class _Missing(Exception):
    """The schedule does not exist (NOT_FOUND), kept apart from real failures."""


class TaskScheduler:
    def __init__(
        self,
        temporal: Client | TemporalConnection,
        task_queue: str | None = None,
        *,
        rpc_timeout: timedelta = timedelta(seconds=2),
        deadline_seconds: float = 3.0,
        list_page_size: int = 500,
    ) -> None:
        self._temporal = (
            temporal
            if isinstance(temporal, TemporalConnection)
            else TemporalConnection.of(temporal)
        )
        self.task_queue = task_queue or default_task_queue()
        self._rpc_timeout = rpc_timeout
        self._deadline = deadline_seconds
        self._list_page_size = list_page_size

    async def temporal_client(self) -> Client:
        return await self._temporal.client()

    async def _call(
        self, make: Callable[[Client], Awaitable[T]], *, may_be_missing: bool = False
    ) -> T:
        """Run one operation under the deadline; NOT_FOUND becomes `_Missing` if expected."""
        client = await self.temporal_client()
        try:
            async with asyncio.timeout(self._deadline):
                return await make(client)
        except RPCError as exc:
            if may_be_missing and exc.status == RPCStatusCode.NOT_FOUND:
                raise _Missing from exc
            raise Unavailable(UNAVAILABLE_MESSAGE) from exc
        except (TimeoutError, OSError) as exc:
            raise Unavailable(UNAVAILABLE_MESSAGE) from exc

    @staticmethod
    def _handle(client: Client, task_id: UUID) -> ScheduleHandle:
        return client.get_schedule_handle(schedule_id(task_id))

    async def create(self, spec: ScheduleSpecForTask) -> bool:
        """Make the schedule exist as `spec` says. True if it was new.

        One RPC in the usual case; an existing schedule (a retry, a concurrent
        reconciler) is brought in line instead of being an error.
        """
        for _ in range(_RACE_RETRIES):
            try:
                await self._call(
                    lambda client: client.create_schedule(
                        schedule_id(spec.task_id),
                        spec.to_schedule(self.task_queue),
                        memo=spec.memo(),
                        rpc_timeout=self._rpc_timeout,
                    )
                )
                return True
            except ScheduleAlreadyRunningError:
                pass
            try:
                await self._update_existing(spec)
                return False
            except _Missing:
                continue  # deleted between our two calls (a concurrent delete): create again
        raise Unavailable(UNAVAILABLE_MESSAGE)

    async def update(self, spec: ScheduleSpecForTask) -> bool:
        """Bring cron, time zone and paused state in line with `spec`. True if changed.

        A missing schedule is created: the caller's intent is "the task's schedule
        looks like this", which a missing schedule does not satisfy either.
        """
        try:
            return await self._update_existing(spec)
        except _Missing:
            await self.create(spec)
            return True

    async def _update_existing(self, spec: ScheduleSpecForTask) -> bool:
        changed = False

        def updater(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
            nonlocal changed
            if spec.schedule_matches(current.description.schedule, self.task_queue):
                return None
            changed = True
            return ScheduleUpdate(schedule=spec.to_schedule(self.task_queue))

        await self._call(
            lambda client: self._handle(client, spec.task_id).update(
                updater, rpc_timeout=self._rpc_timeout
            ),
            may_be_missing=True,
        )
        return changed

    async def pause(self, task_id: UUID, note: str = PAUSED_NOTE) -> bool:
        """Pause the schedule. False if there is none."""
        return await self._if_exists(
            lambda client: self._handle(client, task_id).pause(
                note=note, rpc_timeout=self._rpc_timeout
            )
        )

    async def unpause(self, task_id: UUID, note: str = ACTIVE_NOTE) -> bool:
        """Unpause the schedule. False if there is none."""
        return await self._if_exists(
            lambda client: self._handle(client, task_id).unpause(
                note=note, rpc_timeout=self._rpc_timeout
            )
        )

    async def delete(self, task_id: UUID) -> bool:
        """Delete the schedule. False if there was none (not an error)."""
        return await self._if_exists(
            lambda client: self._handle(client, task_id).delete(rpc_timeout=self._rpc_timeout)
        )

    async def trigger(self, task_id: UUID) -> bool:
        """Fire the schedule's action now (the overlap policy still applies). False if none."""
        return await self._if_exists(
            lambda client: self._handle(client, task_id).trigger(rpc_timeout=self._rpc_timeout)
        )

    async def _if_exists(self, make: Callable[[Client], Awaitable[object]]) -> bool:
        try:
            await self._call(make, may_be_missing=True)
        except _Missing:
            return False
        return True

    async def start_execution(self, task_id: UUID, execution_id: UUID) -> str:
        """Start one run now, outside the schedule, for an execution row the caller made.

        Works whatever the task's state and even without a schedule; the id
        `execution-{execution_id}` makes a retried request start nothing twice.
        Returns the workflow id.
        """
        workflow_id = execution_workflow_id(execution_id)
        # A retry of the same request finds the run started, which is what was asked.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._call(
                lambda client: client.start_workflow(
                    WORKFLOW_TYPE,
                    TaskExecutionInput(
                        task_id=str(task_id), execution_id=str(execution_id), trigger="manual"
                    ),
                    id=workflow_id,
                    task_queue=self.task_queue,
                    execution_timeout=WORKFLOW_EXECUTION_TIMEOUT,
                    memo={"task_id": str(task_id), "execution_id": str(execution_id)},
                    rpc_timeout=self._rpc_timeout,
                )
            )
        return workflow_id

    async def describe(self, task_id: UUID) -> TaskScheduleInfo | None:
        try:
            description = await self._call(
                lambda client: self._handle(client, task_id).describe(
                    rpc_timeout=self._rpc_timeout
                ),
                may_be_missing=True,
            )
        except _Missing:
            return None
        return _info_from_description(task_id, description)

    async def next_runs(self, task_ids: Iterable[UUID]) -> dict[UUID, datetime | None]:
        """Next fire time of each task's schedule, as Temporal announces it.

        None when paused or absent. Cost: one `ListSchedules` visibility query per
        100 ids (`ScheduleId IN (...)`), never a full listing. Measured on the dev
        server (SQLite visibility, 2-core box): 20 ids among 2,000 schedules 42 ms,
        among 10,000 36-74 ms median, p95 up to 230 ms under load — the query is
        not free and grows with the namespace. For task lists prefer the local
        `cron.next_run_at` (same instants, ~1 us cached, no I/O); this is the exact
        answer for tools and checks. The listing is eventually consistent: a
        schedule created ~50 ms ago may still show as None.
        """
        wanted = list(dict.fromkeys(task_ids))
        result: dict[UUID, datetime | None] = dict.fromkeys(wanted)
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            batch = wanted[start : start + _IDS_PER_QUERY]
            query = "ScheduleId IN ({})".format(", ".join(f"'{schedule_id(t)}'" for t in batch))
            # Ids are unique, so one page of len(batch) holds every match.
            for entry in await self._list(query, page_size=len(batch), first_page_only=True):
                task_id = task_id_from_schedule_id(entry.id)
                if task_id in result:
                    result[task_id] = _next_from_listing(entry)
        return result

    async def list_task_schedules(self) -> list[ScheduleListDescription]:
        """Every `task-*` schedule (for the reconciler), from paged visibility listing.

        10,000 schedules on the dev server: ~6.5 s in pages of ~0.3 s each.
        """
        query = f"ScheduleId STARTS_WITH '{SCHEDULE_ID_PREFIX}'"
        entries = await self._list(query, page_size=self._list_page_size)
        return [e for e in entries if task_id_from_schedule_id(e.id) is not None]

    async def _list(
        self, query: str, page_size: int, *, first_page_only: bool = False
    ) -> list[ScheduleListDescription]:
        # Page by page, each under its own deadline: a full listing of thousands of
        # schedules takes seconds, one page well under one.
        client = await self.temporal_client()
        listing = await client.list_schedules(
            query, page_size=page_size, rpc_timeout=self._rpc_timeout
        )
        entries: list[ScheduleListDescription] = []
        while True:
            await self._call(lambda _client: listing.fetch_next_page())
            entries.extend(listing.current_page or ())
            if first_page_only or listing.next_page_token is None:
                return entries


def _next_from_listing(entry: ScheduleListDescription) -> datetime | None:
    if entry.schedule is None or entry.info is None or entry.schedule.state.paused:
        return None
    return entry.info.next_action_times[0] if entry.info.next_action_times else None


def _info_from_description(task_id: UUID, description: ScheduleDescription) -> TaskScheduleInfo:
    schedule = description.schedule
    calendars = schedule.spec.calendars
    paused = schedule.state.paused
    times = description.info.next_action_times
    return TaskScheduleInfo(
        task_id=task_id,
        cron=calendars[0].comment if len(calendars) == 1 else None,
        timezone=schedule.spec.time_zone_name or "UTC",
        paused=paused,
        next_run_at=None if paused or not times else times[0],
        note=schedule.state.note,
        created_at=description.info.created_at,
    )
