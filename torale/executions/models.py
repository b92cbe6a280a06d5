"""One row per run of a task: its status, answer, sources and notification state."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from torale.models_base import created_at_field, id_field, timestamp_field


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class ExecutionTrigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    IMMEDIATE = "immediate"


class Execution(SQLModel, table=True):
    __tablename__ = "executions"
    __table_args__ = (
        # A task's history, newest first, optionally by status.
        Index("ix_executions_task_created", "task_id", text("created_at DESC")),
        Index("ix_executions_task_status_created", "task_id", "status", text("created_at DESC")),
        # Notifications: only condition_met rows, newest first.
        Index(
            "ix_executions_task_condition_met",
            "task_id",
            text("created_at DESC"),
            postgresql_where=text("condition_met"),
        ),
        # Admin views filter by time window and status across all users.
        Index("ix_executions_created", text("created_at DESC")),
        Index("ix_executions_status_created", "status", text("created_at DESC")),
    )

    id: uuid.UUID = id_field()
    task_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    )
    status: ExecutionStatus = Field(
        default=ExecutionStatus.PENDING, sa_column=Column(String(16), nullable=False)
    )
    trigger: ExecutionTrigger = Field(
        default=ExecutionTrigger.SCHEDULE, sa_column=Column(String(16), nullable=False)
    )
    workflow_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    started_at: datetime | None = timestamp_field()
    completed_at: datetime | None = timestamp_field()
    condition_met: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))
    # {answer, reasoning, condition_met, sources_count}
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    current_state: Any | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    change_summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    grounding_sources: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
    error_message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A short machine-readable class of failure, grouped by the admin error view.
    error_type: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    attempt: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    notification_due: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    notification_sent: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    created_at: datetime = created_at_field()
