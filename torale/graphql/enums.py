"""The GraphQL enum of every closed set of the domains' tables.

Each one wraps the domain's own Python enum, so there is exactly one list of values.
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

from torale.executions.models import ExecutionStatus as _ExecutionStatus
from torale.executions.models import ExecutionTrigger as _ExecutionTrigger
from torale.tasks.models import ExecutorType as _ExecutorType
from torale.tasks.models import NotifyBehavior as _NotifyBehavior
from torale.tasks.models import TaskState as _TaskState
from torale.users.models import ApiKeyState as _ApiKeyState
from torale.users.models import UserRole as _UserRole
from torale.users.models import UserState as _UserState
from torale.webhooks.models import AttemptOutcome as _AttemptOutcome
from torale.webhooks.models import ChannelType as _ChannelType
from torale.webhooks.models import DeliveryEventType as _DeliveryEventType
from torale.webhooks.models import DeliveryStatus as _DeliveryStatus

TaskState = strawberry.enum(
    _TaskState, name="TaskState", description="Whether a task runs on its schedule"
)
NotifyBehavior = strawberry.enum(
    _NotifyBehavior,
    name="NotifyBehavior",
    description="When a met condition notifies: once (then the task completes), always, "
    "or track_state (only when the answer changed)",
)
ExecutorType = strawberry.enum(
    _ExecutorType, name="ExecutorType", description="How a task's runs are carried out"
)
ExecutionStatus = strawberry.enum(
    _ExecutionStatus, name="ExecutionStatus", description="Where a run of a task stands"
)
ExecutionTrigger = strawberry.enum(
    _ExecutionTrigger, name="ExecutionTrigger", description="What started a run"
)
UserRole = strawberry.enum(_UserRole, name="UserRole")
UserState = strawberry.enum(
    _UserState, name="UserState", description="A deactivated user is blocked, not deleted"
)
ApiKeyState = strawberry.enum(_ApiKeyState, name="ApiKeyState")
ChannelType = strawberry.enum(
    _ChannelType, name="ChannelType", description="Where a notification is sent"
)
DeliveryStatus = strawberry.enum(
    _DeliveryStatus, name="DeliveryStatus", description="Where a notification delivery stands"
)
DeliveryEventType = strawberry.enum(
    _DeliveryEventType, name="DeliveryEventType", description="What a delivery announces"
)
AttemptOutcome = strawberry.enum(
    _AttemptOutcome, name="AttemptOutcome", description="How one delivery attempt ended"
)

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
