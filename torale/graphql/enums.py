"""The GraphQL enum of every closed set of the domains' tables.

Each one is the domain's own Python enum, registered here with its GraphQL name and
description (`strawberry.enum` marks the class in place), so there is exactly one list
of values and one type for the type checker.
GraphQL names are the Python member names, upper case by GraphQL convention
(`ACTIVE`); their values are the lower-case strings SPEC and the database use
(`"active"`). `/graphql` speaks the names. REST keeps the SPEC strings: its operations
are translated at the REST executor (`torale.graphql.enum_wire`), both ways.

Resolvers may return either a plain stored string (`"active"`) or the enum member;
graphql-core serialises both to the name. Inputs arrive as the enum member, which is
a `str` with the SPEC value, so services need no change.
"""

from __future__ import annotations

import strawberry

from torale.executions.models import ExecutionStatus, ExecutionTrigger
from torale.tasks.models import ExecutorType, NotifyBehavior, TaskState
from torale.users.models import ApiKeyState, UserRole, UserState
from torale.webhooks.models import AttemptOutcome, ChannelType, DeliveryEventType, DeliveryStatus

strawberry.enum(TaskState, name="TaskState", description="Whether a task runs on its schedule")
strawberry.enum(
    NotifyBehavior,
    name="NotifyBehavior",
    description="When a met condition notifies: once (then the task completes), always, "
    "or track_state (only when the answer changed)",
)
strawberry.enum(ExecutorType, name="ExecutorType", description="How a task's runs are carried out")
strawberry.enum(ExecutionStatus, name="ExecutionStatus", description="Where a run of a task stands")
strawberry.enum(ExecutionTrigger, name="ExecutionTrigger", description="What started a run")
strawberry.enum(UserRole, name="UserRole")
strawberry.enum(
    UserState, name="UserState", description="A deactivated user is blocked, not deleted"
)
strawberry.enum(ApiKeyState, name="ApiKeyState")
strawberry.enum(ChannelType, name="ChannelType", description="Where a notification is sent")
strawberry.enum(
    DeliveryStatus, name="DeliveryStatus", description="Where a notification delivery stands"
)
strawberry.enum(
    DeliveryEventType, name="DeliveryEventType", description="What a delivery announces"
)
strawberry.enum(AttemptOutcome, name="AttemptOutcome", description="How one delivery attempt ended")

__all__ = [
    "ApiKeyState",
    "AttemptOutcome",
    "ChannelType",
    "DeliveryEventType",
    "DeliveryStatus",
    "ExecutionStatus",
    "ExecutionTrigger",
    "ExecutorType",
    "NotifyBehavior",
    "TaskState",
    "UserRole",
    "UserState",
]
