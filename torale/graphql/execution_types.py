"""The GraphQL `Execution` type: the executions' queries list it and a task shows its
last and recent ones, so it sits below both domains' schemas.

It is built from the ORM row (`ExecutionType.of`); `result` and `grounding_sources`
are JSONB columns given a shape here when asked for.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from torale.executions.models import Execution
from torale.graphql.enums import ExecutionStatus, ExecutionTrigger
from torale.graphql.types import from_row


@strawberry.type(description="What the LLM concluded")
class ExecutionResult:
    answer: str
    reasoning: str
    condition_met: bool
    sources_count: int


@strawberry.type(description="A web page the answer was grounded on")
class GroundingSource:
    uri: str
    title: str
    snippet: str | None = None


def result_of(data: dict[str, Any] | None) -> ExecutionResult | None:
    """An execution's `result` column, shaped."""
    if not data:
        return None
    return ExecutionResult(
        answer=data.get("answer", ""),
        reasoning=data.get("reasoning", ""),
        condition_met=bool(data.get("condition_met")),
        sources_count=int(data.get("sources_count", 0)),
    )


def sources_of(data: list[dict[str, Any]] | None) -> list[GroundingSource]:
    """An execution's `grounding_sources` column, shaped."""
    return [
        GroundingSource(uri=s.get("uri", ""), title=s.get("title", ""), snippet=s.get("snippet"))
        for s in data or []
    ]


@strawberry.type(name="Execution", description="One run of a task")
class ExecutionType:
    id: uuid.UUID
    task_id: uuid.UUID
    status: ExecutionStatus
    trigger: ExecutionTrigger
    started_at: datetime | None
    completed_at: datetime | None
    condition_met: bool | None
    change_summary: str | None
    error_message: str | None
    error_type: str | None
    attempt: int
    notification_sent: bool
    created_at: datetime
    current_state: JSON | None = strawberry.field(
        description="The state extracted by this run; follows the task's output_schema"
    )
    # The JSONB columns, shaped only when asked for.
    result_data: strawberry.Private[dict[str, Any] | None]
    sources_data: strawberry.Private[list[dict[str, Any]] | None]

    @classmethod
    def of(cls, row: Execution) -> ExecutionType:
        return from_row(cls, row, result_data=row.result, sources_data=row.grounding_sources)

    @strawberry.field(description="answer, reasoning, condition_met, sources_count")
    def result(self) -> ExecutionResult | None:
        return result_of(self.result_data)

    @strawberry.field
    def grounding_sources(self) -> list[GroundingSource]:
        return sources_of(self.sources_data)
