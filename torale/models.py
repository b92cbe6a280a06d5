"""Every table, imported in one place so metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from torale.executions.models import Execution, ExecutionStatus, ExecutionTrigger
from torale.tasks.models import NotifyBehavior, Task, TaskState
from torale.users.models import ApiKey, ApiKeyState, User, UserRole, UserState
from torale.webhooks.models import Delivery, DeliveryAttempt, WebhookSecret

metadata = SQLModel.metadata

__all__ = [
    "ApiKey",
    "ApiKeyState",
    "Delivery",
    "DeliveryAttempt",
    "Execution",
    "ExecutionStatus",
    "ExecutionTrigger",
    "NotifyBehavior",
    "Task",
    "TaskState",
    "User",
    "UserRole",
    "UserState",
    "WebhookSecret",
    "metadata",
]
