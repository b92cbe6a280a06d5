"""Tables of the notification fan-out: signing secrets, deliveries and their attempts.

A delivery is one event to one channel (webhook URL or e-mail address). Its body is
stored as the exact bytes that are signed and sent, so every retry and redelivery
carries the same `webhook-id` and the same payload.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from torale.models_base import created_at_field, id_field, timestamp_field


class ChannelType(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class DeliveryStatus(StrEnum):
    # Waiting for its next attempt (first or a retry; see next_attempt_at).
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    # No attempts left, or refused (SSRF guard, permanent SMTP error).
    FAILED = "failed"
    # The receiver answered 410: the endpoint is gone, never retried.
    GONE = "gone"


class DeliveryEventType(StrEnum):
    # What a delivery announces: a met condition, or the task's health
    # (torale.tasks.health).
    CONDITION_MET = "condition_met"
    TASK_FAILING = "task_failing"
    TASK_RECOVERED = "task_recovered"


FINAL_STATUSES = frozenset({DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED, DeliveryStatus.GONE})


class WebhookSecret(SQLModel, table=True):
    """A user's signing secrets, sealed with TORALE_SECRET_KEY (`secret_box`): HMAC
    signing needs the secret itself, so it cannot be hashed like an API key."""

    __tablename__ = "webhook_secrets"

    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    secret: str = Field(sa_column=Column(String(255), nullable=False))
    # After a rotation the old secret still signs until previous_valid_until.
    previous_secret: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    previous_valid_until: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    rotated_at: datetime | None = timestamp_field()


class Delivery(SQLModel, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (
        # One delivery per (execution, event, channel): fan-out may run twice, never
        # duplicates; one run may carry condition_met and task_recovered to one channel.
        UniqueConstraint(
            "execution_id",
            "event_type",
            "channel",
            "target",
            name="uq_deliveries_execution_event_target",
        ),
        # A task's delivery log, newest first.
        Index("ix_deliveries_task_created", "task_id", text("created_at DESC")),
        Index("ix_deliveries_user", "user_id"),
        # The sweeper's and the stats' scan: pending rows by when they are due.
        Index(
            "ix_deliveries_pending_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: uuid.UUID = id_field()
    execution_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(ForeignKey("executions.id", ondelete="CASCADE"), nullable=True),
    )
    task_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    channel: ChannelType = Field(sa_column=Column(String(16), nullable=False))
    # The webhook URL or the e-mail address.
    target: str = Field(sa_column=Column(Text, nullable=False))
    # Extra request headers configured on the webhook channel.
    headers: dict[str, str] = Field(
        default_factory=dict,
        sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    )
    # The `webhook-id`: stable across retries and redeliveries.
    event_id: str = Field(sa_column=Column(String(64), nullable=False))
    event_type: str = Field(sa_column=Column(String(32), nullable=False))
    # The exact bytes signed and sent (canonical JSON of the event).
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING, sa_column=Column(String(16), nullable=False)
    )
    attempt_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    # Attempts since the last redelivery: indexes the retry schedule.
    series_attempts: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    next_attempt_at: datetime | None = timestamp_field()
    # Outbox liveness (torale.webhooks.outbox): when a message for the next attempt was
    # last put on the queue, and until when that message counts as live. A due pending
    # row whose lease has run out is stranded: the sweeper enqueues it again.
    enqueued_at: datetime | None = timestamp_field()
    lease_expires_at: datetime | None = timestamp_field()
    last_status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    succeeded_at: datetime | None = timestamp_field()

    @property
    def event(self) -> dict[str, Any]:
        return orjson.loads(self.body)


class AttemptOutcome(StrEnum):
    SUCCESS = "success"
    RETRY = "retry"
    GONE = "gone"
    REFUSED = "refused"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    INTERRUPTED = "interrupted"


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempts"
    __table_args__ = (
        UniqueConstraint("delivery_id", "attempt_number", name="uq_delivery_attempts_number"),
    )

    id: uuid.UUID = id_field()
    delivery_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False)
    )
    attempt_number: int = Field(sa_column=Column(Integer, nullable=False))
    # success | retry | gone | refused | failed (no attempts left / permanent error);
    # in_progress while a worker sends it (committed before the request goes out), and
    # interrupted when that worker died before recording the outcome.
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    duration_ms: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
