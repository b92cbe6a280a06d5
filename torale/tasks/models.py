"""The task table: what a user watches, how often, and how they are told."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from torale.models_base import created_at_field, id_field, timestamp_field


class TaskState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


class NotifyBehavior(StrEnum):
    ONCE = "once"
    ALWAYS = "always"
    TRACK_STATE = "track_state"


class ExecutorType(StrEnum):
    # The only executor today; a closed set so clients can switch on it.
    LLM_GROUNDED_SEARCH = "llm_grounded_search"


EXECUTOR_LLM_GROUNDED_SEARCH = ExecutorType.LLM_GROUNDED_SEARCH.value
DEFAULT_FAILURE_THRESHOLD = 3


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        # The caller's task list, newest first, optionally filtered by state.
        Index("ix_tasks_user_created", "user_id", text("created_at DESC")),
        Index("ix_tasks_user_state_created", "user_id", "state", text("created_at DESC")),
        # Admin stats and the reconciler scan tasks by state across users.
        Index("ix_tasks_state", "state"),
        Index("ix_tasks_public", "is_public", postgresql_where=text("is_public")),
        Index("ix_tasks_forked_from", "forked_from_task_id"),
        Index("ix_tasks_search_query", "search_query"),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(sa_column=Column(String(200), nullable=False))
    search_query: str = Field(sa_column=Column(String(500), nullable=False))
    condition_description: str = Field(sa_column=Column(String(500), nullable=False))
    schedule: str = Field(sa_column=Column(String(120), nullable=False))
    timezone: str = Field(default="UTC", sa_column=Column(String(64), nullable=False))
    notify_behavior: NotifyBehavior = Field(
        default=NotifyBehavior.ONCE, sa_column=Column(String(16), nullable=False)
    )
    executor_type: str = Field(
        default=EXECUTOR_LLM_GROUNDED_SEARCH, sa_column=Column(String(64), nullable=False)
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    notifications: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
    state: TaskState = Field(default=TaskState.ACTIVE, sa_column=Column(String(16), nullable=False))
    condition_met: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    last_known_state: Any | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    last_notified_at: datetime | None = timestamp_field()
    last_execution_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            ForeignKey("executions.id", ondelete="SET NULL", use_alter=True), nullable=True
        ),
    )
    is_public: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    view_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    subscriber_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    # Health (torale.tasks.health): `task_failing` goes out when consecutive_failures
    # reaches failure_threshold, once, and failing_since marks that it went out.
    failure_threshold: int = Field(
        default=DEFAULT_FAILURE_THRESHOLD,
        sa_column=Column(Integer, nullable=False, server_default=text("3")),
    )
    consecutive_failures: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    failing_since: datetime | None = timestamp_field()
    # A JSON Schema the extracted state (`current_state`) must follow (structured results).
    output_schema: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONB, nullable=True)
    )
    forked_from_task_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    state_changed_at: datetime = created_at_field()
