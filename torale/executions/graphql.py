"""GraphQL for executions, notifications, manual runs, preview and suggest.

Types are built from the ORM rows (`of`; the `Execution` type, which tasks show too,
is in torale.graphql.execution_types); a notification's `task_name` comes from a
DataLoader (one query per response, not one per row).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from strawberry.scalars import JSON

from torale.executions import preview as drafting
from torale.executions import service
from torale.executions.models import Execution
from torale.graphql.enums import ExecutionStatus, NotifyBehavior
from torale.graphql.execution_types import (
    ExecutionType,
    GroundingSource,
    result_of,
    sources_of,
)
from torale.graphql.types import Info, Page, from_row, page_of
from torale.pagination import DEFAULT_LIMIT, PageRequest

T = TypeVar("T")


@strawberry.type(name="TaskNotification", description="An execution whose condition was met")
class TaskNotificationType:
    id: uuid.UUID
    task_id: uuid.UUID
    status: ExecutionStatus
    condition_met: bool | None
    change_summary: str | None
    created_at: datetime
    result_data: strawberry.Private[dict[str, Any] | None]
    sources_data: strawberry.Private[list[dict[str, Any]] | None]

    @classmethod
    def of(cls, row: Execution) -> TaskNotificationType:
        return from_row(cls, row, result_data=row.result, sources_data=row.grounding_sources)

    @strawberry.field
    async def task_name(self, info: Info) -> str:
        return await info.context.loaders.task_name.load(self.task_id) or ""

    @strawberry.field
    def answer(self) -> str | None:
        result = result_of(self.result_data)
        return result.answer if result else None

    @strawberry.field
    def reasoning(self) -> str | None:
        result = result_of(self.result_data)
        return result.reasoning if result else None

    @strawberry.field
    def grounding_sources(self) -> list[GroundingSource]:
        return sources_of(self.sources_data)


@strawberry.type
class ExecutionStarted:
    message: str
    execution_id: uuid.UUID


@strawberry.type(description="A one-off evaluation; nothing was saved")
class TaskPreview:
    condition_met: bool
    answer: str
    reasoning: str
    grounding_sources: list[GroundingSource]
    current_state: JSON | None = strawberry.field(
        description="The extracted state; follows `output_schema` when one was given"
    )


@strawberry.type(description="A task draft that passes task validation")
class TaskSuggestion:
    name: str
    search_query: str
    condition_description: str
    schedule: str
    notify_behavior: NotifyBehavior


@strawberry.input
class PreviewInput:
    search_query: str
    condition_description: str
    config: JSON | None = None
    output_schema: JSON | None = None


@strawberry.input
class SuggestInput:
    prompt: str
    current_task: JSON | None = None


def _page(
    found: service.ExecutionPage, page: int, limit: int, build: Callable[[Execution], T]
) -> Page[T]:
    return page_of(build, found.items, total=found.total, page=page, limit=limit)


@strawberry.type
class ExecutionQuery:
    @strawberry.field(description="A task's executions, newest first (owner only)")
    async def executions(
        self,
        info: Info,
        task_id: uuid.UUID,
        page: int = 1,
        limit: int = DEFAULT_LIMIT,
        status: ExecutionStatus | None = None,
    ) -> Page[ExecutionType] | None:
        ctx = info.context
        found = await service.list_executions(
            ctx.session, ctx.subject, task_id, PageRequest(page, limit), status=status
        )
        return _page(found, page, limit, ExecutionType.of)

    @strawberry.field(description="One execution of a task (owner only)")
    async def execution(
        self, info: Info, task_id: uuid.UUID, id: uuid.UUID
    ) -> ExecutionType | None:
        ctx = info.context
        return ExecutionType.of(await service.get_execution(ctx.session, ctx.subject, task_id, id))

    @strawberry.field(description="Condition-met executions: one task's, or all your tasks'")
    async def notifications(
        self,
        info: Info,
        task_id: uuid.UUID | None = None,
        page: int = 1,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[TaskNotificationType] | None:
        ctx = info.context
        found = await service.list_notifications(
            ctx.session, ctx.subject, PageRequest(page, limit), task_id=task_id
        )
        return _page(found, page, limit, TaskNotificationType.of)

    @strawberry.field(description="Search and evaluate once, synchronously; saves nothing")
    async def preview_task(self, info: Info, input: PreviewInput) -> TaskPreview | None:
        ctx = info.context
        ctx.subject  # noqa: B018 - authenticated callers only: this spends provider credits
        result = await drafting.preview(
            ctx.resources.settings,
            input.search_query,
            input.condition_description,
            input.config,
            input.output_schema,
        )
        return TaskPreview(
            condition_met=result.condition_met,
            answer=result.answer,
            reasoning=result.reasoning,
            grounding_sources=[
                GroundingSource(uri=s["uri"], title=s["title"], snippet=s.get("snippet"))
                for s in result.grounding_sources
            ],
            current_state=result.current_state,
        )

    @strawberry.field(description="Draft a task from a plain-language request")
    async def suggest_task(self, info: Info, input: SuggestInput) -> TaskSuggestion | None:
        ctx = info.context
        ctx.subject  # noqa: B018 - authenticated callers only: this spends provider credits
        draft = await drafting.suggest(ctx.resources.settings, input.prompt, input.current_task)
        return TaskSuggestion(
            name=draft["name"],
            search_query=draft["search_query"],
            condition_description=draft["condition_description"],
            schedule=draft["schedule"],
            # One of the set: suggest_task picks only a known behaviour.
            notify_behavior=NotifyBehavior(draft["notify_behavior"]),
        )


@strawberry.type
class ExecutionMutation:
    @strawberry.mutation(description="Run a task now, whatever its state (owner only)")
    async def execute_task(self, info: Info, id: uuid.UUID) -> ExecutionStarted:
        ctx = info.context
        execution = await service.execute_task(
            ctx.session, ctx.resources.scheduler, ctx.subject, id
        )
        return ExecutionStarted(message=service.EXECUTION_INITIATED, execution_id=execution.id)
