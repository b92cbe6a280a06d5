"""Typed answers of the REST API.

Each model mirrors the response schema of the routes that return it in the served
OpenAPI document; `tests/client/test_client_models.py` checks every resource method's
model against its route's schema, both ways, so they cannot drift. Unknown fields a newer
server adds are kept (`extra="allow"`) rather than refused: an older client keeps working.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Page(Model, Generic[T]):
    """One page of a list: `items`, and `total` across all pages."""

    items: list[T]
    total: int
    page: int
    limit: int


class User(Model):
    id: uuid.UUID
    email: str
    clerk_user_id: str | None
    role: str
    state: str
    created_at: datetime


class GroundingSource(Model):
    uri: str
    title: str | None
    snippet: str | None = None


class Task(Model):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    search_query: str
    condition_description: str
    schedule: str
    timezone: str
    notify_behavior: Literal["once", "always", "track_state"] | str
    executor_type: str
    config: dict[str, Any]
    # Left out when the task is someone else's public task.
    notifications: list[dict[str, Any]] | None = None
    state: Literal["active", "paused", "completed"] | str
    condition_met: bool
    last_known_state: Any = None
    last_notified_at: datetime | None
    last_execution_id: uuid.UUID | None
    next_run_at: datetime | None
    is_public: bool
    view_count: int
    subscriber_count: int
    forked_from_task_id: uuid.UUID | None
    # Health: task_failing after failure_threshold failed runs in a row.
    failure_threshold: int = 3
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    # The JSON Schema the extracted state follows (structured results).
    output_schema: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime
    state_changed_at: datetime | None


class Visibility(Model):
    id: uuid.UUID
    is_public: bool


class ExportedTask(Model):
    """A task as an export carries it: no ids, no history, no secrets."""

    name: str
    search_query: str
    condition_description: str
    schedule: str
    timezone: str
    notify_behavior: str
    executor_type: str
    config: dict[str, Any]
    notifications: list[dict[str, Any]]
    is_public: bool
    failure_threshold: int
    output_schema: dict[str, Any] | None
    state: str


class TaskExport(Model):
    version: int
    exported_at: datetime
    tasks: list[ExportedTask]


class ImportItem(Model):
    index: int
    status: Literal["created", "skipped", "invalid", "failed"] | str
    name: str | None = None
    task_id: uuid.UUID | None = None
    reason: str | None = None
    errors: list[dict[str, Any]] | None = None


class ImportReport(Model):
    dry_run: bool
    atomic: bool
    applied: bool
    created: int
    skipped: int
    invalid: int
    failed: int
    items: list[ImportItem]


class ExecutionStarted(Model):
    message: str
    execution_id: uuid.UUID


class ExecutionResult(Model):
    answer: str | None
    reasoning: str | None
    condition_met: bool | None
    sources_count: int | None


class Execution(Model):
    id: uuid.UUID
    task_id: uuid.UUID
    status: Literal["pending", "running", "success", "failed"] | str
    trigger: str | None = None
    started_at: datetime | None
    completed_at: datetime | None
    condition_met: bool | None
    result: ExecutionResult | None
    change_summary: str | None
    grounding_sources: list[GroundingSource]
    error_message: str | None
    error_type: str | None = None
    attempt: int
    notification_sent: bool
    created_at: datetime
    current_state: Any = None

    @property
    def finished(self) -> bool:
        return self.status in ("success", "failed")


class Notification(Model):
    id: uuid.UUID
    task_id: uuid.UUID
    task_name: str
    status: str
    condition_met: bool | None
    answer: str | None
    reasoning: str | None
    change_summary: str | None
    grounding_sources: list[GroundingSource]
    created_at: datetime


class Preview(Model):
    condition_met: bool
    answer: str | None
    reasoning: str | None
    grounding_sources: list[GroundingSource]
    current_state: Any = None


class Suggestion(Model):
    name: str
    search_query: str
    condition_description: str
    schedule: str
    notify_behavior: str


class ApiKey(Model):
    id: uuid.UUID
    key_prefix: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    state: str


class ApiKeyCreated(Model):
    """The only answer that carries the key itself: keep it, it is not shown again."""

    id: uuid.UUID
    key: str
    key_prefix: str
    name: str
    created_at: datetime


class Message(Model):
    message: str


class WebhookSecret(Model):
    secret: str
    previous_valid_until: datetime | None
    created_at: datetime
    rotated_at: datetime | None


class WebhookTestResult(Model):
    status_code: int | None
    success: bool
    error: str | None
    duration_ms: int | None


class DeliveryAttempt(Model):
    id: uuid.UUID
    attempt_number: int
    outcome: str
    status_code: int | None
    error: str | None
    duration_ms: int | None
    next_attempt_at: datetime | None
    created_at: datetime


class Delivery(Model):
    id: uuid.UUID
    execution_id: uuid.UUID | None
    task_id: uuid.UUID
    channel: str
    target: str
    event_id: str
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    succeeded_at: datetime | None
    attempts: list[DeliveryAttempt]


class UserCounts(Model):
    total: int
    active_30d: int
    new_7d: int


class TaskCounts(Model):
    total: int
    active: int
    paused: int
    completed: int


class ExecutionCounts(Model):
    total_24h: int
    success_24h: int
    failed_24h: int
    avg_duration_ms: float | None


class NotificationCounts(Model):
    sent_24h: int
    sent_7d: int


class PopularQuery(Model):
    query: str
    count: int


class DeliveryCounts(Model):
    pending: int
    retrying: int
    failed: int
    stranded: int
    oldest_due_age_seconds: float | None


class AdminStats(Model):
    users: UserCounts
    tasks: TaskCounts
    executions: ExecutionCounts
    notifications: NotificationCounts
    popular_queries: list[PopularQuery]
    deliveries: DeliveryCounts | None = None


class QueryFigures(Model):
    search_query: str
    total_tasks: int
    active_tasks: int
    total_executions: int
    success_rate: float | None
    avg_duration_ms: float | None


class AdminExecution(Model):
    id: uuid.UUID
    task_id: uuid.UUID
    task_name: str | None
    search_query: str | None
    user_id: uuid.UUID | None
    user_email: str | None
    status: str
    trigger: str | None
    workflow_id: str | None
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: int | None
    condition_met: bool | None
    result: Any = None
    change_summary: str | None
    error_message: str | None
    error_type: str | None
    attempt: int
    notification_sent: bool
    created_at: datetime


class ErrorPage(Page[AdminExecution]):
    error_types: dict[str, int]


class AdminUser(User):
    """A user as the admin list shows them, with their activity."""

    last_login: datetime | None
    deactivated_at: datetime | None
    tasks_count: int
    active_tasks_count: int
    executions_24h: int
    notifications_7d: int


class Workflow(Model):
    workflow_id: str
    run_id: str | None
    workflow_type: str | None
    task_queue: str | None
    status: str | None
    start_time: datetime | None
    close_time: datetime | None
    execution_duration_ms: int | None
    temporal_ui_url: str | None


class ScheduledRun(Model):
    workflow_id: str | None
    run_id: str | None
    scheduled_at: datetime | None
    started_at: datetime | None


class Schedule(Model):
    schedule_id: str
    task_id: uuid.UUID | None
    user_email: str | None
    cron: str | None
    timezone: str | None
    is_paused: bool
    note: str | None
    recent_executions: list[ScheduledRun]
    next_run_time: datetime | None
    temporal_ui_url: str | None


class UserDeactivated(Model):
    message: str
    user_id: uuid.UUID
    tasks_paused: int


class UserActivated(Model):
    message: str
    user_id: uuid.UUID
