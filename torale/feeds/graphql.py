"""GraphQL for feeds: `public_task_feed`, open to anyone (no credential needed)."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from torale.executions.models import Execution
from torale.feeds import service
from torale.feeds.service import entry_time
from torale.graphql.types import Info


@strawberry.type(description="One condition-met execution of a public task")
class FeedEntry:
    execution_id: uuid.UUID
    updated_at: datetime
    answer: str | None
    reasoning: str | None
    change_summary: str | None
    current_state: JSON | None
    grounding_sources: JSON

    @classmethod
    def of(cls, row: Execution) -> FeedEntry:
        result = row.result or {}
        return cls(
            execution_id=row.id,
            updated_at=entry_time(row),
            answer=result.get("answer"),
            reasoning=result.get("reasoning"),
            change_summary=row.change_summary,
            current_state=row.current_state,
            grounding_sources=JSON(row.grounding_sources or []),
        )


@strawberry.type(description="A public task and its newest condition-met executions")
class PublicTaskFeed:
    task_id: uuid.UUID
    task_name: str
    search_query: str
    condition_description: str
    updated_at: datetime
    entries: list[FeedEntry]


@strawberry.type
class FeedQuery:
    @strawberry.field(
        description=f"The newest {service.FEED_ENTRIES} condition-met executions of a public "
        "task, newest first; anyone may read it. Private or unknown tasks: NOT_FOUND"
    )
    async def public_task_feed(self, info: Info, id: uuid.UUID) -> PublicTaskFeed:
        feed = await service.public_feed(info.context.session, id)
        return PublicTaskFeed(
            task_id=feed.task.id,
            task_name=feed.task.name,
            search_query=feed.task.search_query,
            condition_description=feed.task.condition_description,
            updated_at=feed.updated_at,
            entries=[FeedEntry.of(row) for row in feed.entries],
        )
