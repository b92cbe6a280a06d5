"""Temporal's own view of workflows and schedules, one page at a time.

Pages are cut from Temporal's visibility listing with its page tokens: page P of
size L reads at most P*L entries (one RPC for up to 1,000), never the whole
namespace. Only the schedules on the page are described (concurrently), for the
authoritative recent runs and next fire time that the eventually consistent
listing may lag on. Totals come from `CountWorkflowExecutions`; schedules are
counted through the system workflows that back them (the same visibility filter
the server applies to `ListSchedules`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionResult,
    ScheduleDescription,
    ScheduleListDescription,
    WorkflowExecution,
)
from temporalio.service import RPCError, RPCStatusCode

from torale.admin.service import task_owner_emails
from torale.errors import Unavailable
from torale.pagination import PageRequest
from torale.scheduling.constants import task_id_from_schedule_id

UNAVAILABLE_MESSAGE = "Temporal unavailable"
SCHEDULES_QUERY = "TemporalNamespaceDivision = 'TemporalScheduler' AND ExecutionStatus = 'Running'"
# The server caps one visibility page at 1,000 entries.
_MAX_PAGE_SIZE = 1000
_CONCURRENT_DESCRIBES = 10

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WorkflowEntry:
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: str | None
    start_time: datetime
    close_time: datetime | None
    execution_duration_ms: int | None
    temporal_ui_url: str | None


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    workflow_id: str
    run_id: str
    scheduled_at: datetime
    started_at: datetime


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    schedule_id: str
    task_id: uuid.UUID | None
    user_email: str | None
    cron: str | None
    timezone: str
    is_paused: bool
    note: str | None
    recent_executions: list[ScheduleRun] = field(default_factory=list)
    next_run_time: datetime | None = None
    temporal_ui_url: str | None = None


@dataclass(frozen=True, slots=True)
class EntryPage:
    items: Sequence[Any]
    total: int


class _Listing(Protocol):
    @property
    def current_page(self) -> Sequence[Any] | None: ...

    @property
    def next_page_token(self) -> bytes | None: ...

    async def fetch_next_page(self, *, page_size: int | None = None) -> None: ...


class TemporalBrowser:
    """Read-only listings for the admin views, bounded by deadline and page."""

    def __init__(
        self,
        client: Client,
        ui_url: str | None,
        *,
        rpc_timeout: timedelta = timedelta(seconds=3),
        deadline_seconds: float = 3.0,
    ) -> None:
        self._client = client
        self._ui = ui_url.rstrip("/") if ui_url else None
        self._rpc_timeout = rpc_timeout
        self._deadline = deadline_seconds

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self._deadline):
                return await make()
        except (RPCError, TimeoutError, OSError) as exc:
            raise Unavailable(UNAVAILABLE_MESSAGE) from exc

    def _ui_link(self, *parts: str) -> str | None:
        if self._ui is None:
            return None
        namespace = quote(self._client.namespace, safe="")
        return "/".join((self._ui, "namespaces", namespace, *(quote(p, safe="") for p in parts)))

    async def _page(self, listing: _Listing, page: PageRequest) -> list[Any]:
        wanted = page.offset + page.limit
        entries: list[Any] = []
        while len(entries) < wanted:
            size = min(wanted - len(entries), _MAX_PAGE_SIZE)
            await self._call(partial(listing.fetch_next_page, page_size=size))
            entries.extend(listing.current_page or ())
            if listing.next_page_token is None:
                break
        return entries[page.offset : wanted]

    async def _count(self, query: str | None) -> int:
        counted = await self._call(
            lambda: self._client.count_workflows(query, rpc_timeout=self._rpc_timeout)
        )
        return counted.count

    # --- workflows

    async def workflows(self, page: PageRequest) -> EntryPage:
        """Newest first, as Temporal's visibility orders them."""
        listing = self._client.list_workflows(page_size=page.limit, rpc_timeout=self._rpc_timeout)
        entries, total = await asyncio.gather(self._page(listing, page), self._count(None))
        return EntryPage(items=[self._workflow_entry(w) for w in entries], total=total)

    def _workflow_entry(self, run: WorkflowExecution) -> WorkflowEntry:
        duration = None
        if run.raw_info.HasField("execution_duration"):
            duration = run.raw_info.execution_duration.ToMilliseconds()
        return WorkflowEntry(
            workflow_id=run.id,
            run_id=run.run_id,
            workflow_type=run.workflow_type,
            task_queue=run.task_queue,
            status=run.status.name.lower() if run.status is not None else None,
            start_time=run.start_time,
            close_time=run.close_time,
            execution_duration_ms=duration,
            temporal_ui_url=self._ui_link("workflows", run.id, run.run_id),
        )

    # --- schedules

    async def schedules(self, session: AsyncSession, page: PageRequest) -> EntryPage:
        listing = await self._call(
            lambda: self._client.list_schedules(page_size=page.limit, rpc_timeout=self._rpc_timeout)
        )
        listed, total = await asyncio.gather(self._page(listing, page), self._count_schedules())
        described = await self._describe_all(listed)
        task_ids = [t for t in (task_id_from_schedule_id(s.id) for s in listed) if t is not None]
        emails = await task_owner_emails(session, task_ids)
        items = [
            self._schedule_entry(entry, description, emails)
            for entry, description in zip(listed, described, strict=True)
            if description is not None
        ]
        return EntryPage(items=items, total=total)

    async def _count_schedules(self) -> int:
        return await self._count(SCHEDULES_QUERY)

    async def _describe_all(
        self, listed: Sequence[ScheduleListDescription]
    ) -> list[ScheduleDescription | None]:
        limit = asyncio.Semaphore(_CONCURRENT_DESCRIBES)

        async def describe(schedule_id: str) -> ScheduleDescription | None:
            handle = self._client.get_schedule_handle(schedule_id)
            async with limit:
                try:
                    return await self._call_allowing_missing(
                        lambda: handle.describe(rpc_timeout=self._rpc_timeout)
                    )
                except _Gone:
                    return None  # deleted since it was listed: no longer part of the page

        return list(await asyncio.gather(*(describe(s.id) for s in listed)))

    async def _call_allowing_missing(self, make: Callable[[], Awaitable[T]]) -> T:
        try:
            return await self._call(make)
        except Unavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, RPCError) and cause.status == RPCStatusCode.NOT_FOUND:
                raise _Gone from cause
            raise

    def _schedule_entry(
        self,
        listed: ScheduleListDescription,
        description: ScheduleDescription,
        emails: dict[uuid.UUID, str],
    ) -> ScheduleEntry:
        schedule = description.schedule
        calendars = schedule.spec.calendars
        paused = schedule.state.paused
        upcoming = description.info.next_action_times
        task_id = task_id_from_schedule_id(listed.id)
        return ScheduleEntry(
            schedule_id=listed.id,
            task_id=task_id,
            user_email=emails.get(task_id) if task_id else None,
            # Our schedules carry their cron as the calendar's comment (scheduling/spec.py).
            cron=(calendars[0].comment or None) if len(calendars) == 1 else None,
            timezone=schedule.spec.time_zone_name or "UTC",
            is_paused=paused,
            note=schedule.state.note,
            # Newest first, like every other list here (Temporal reports oldest first).
            recent_executions=[_run(r) for r in reversed(description.info.recent_actions)],
            next_run_time=None if paused or not upcoming else upcoming[0],
            temporal_ui_url=self._ui_link("schedules", listed.id),
        )


class _Gone(Exception):
    """The schedule was deleted between listing and describing it."""


def _run(result: ScheduleActionResult) -> ScheduleRun:
    action = result.action
    assert isinstance(action, ScheduleActionExecutionStartWorkflow)
    return ScheduleRun(
        workflow_id=action.workflow_id,
        run_id=action.first_execution_run_id,
        scheduled_at=result.scheduled_at,
        started_at=result.started_at,
    )
