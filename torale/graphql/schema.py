"""The one Strawberry schema: every domain's queries and mutations merged."""

from __future__ import annotations

import functools
from typing import Any

from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from torale.admin.graphql import AdminMutation, AdminQuery
from torale.config import Settings
from torale.executions.graphql import ExecutionMutation, ExecutionQuery
from torale.feeds.graphql import FeedQuery
from torale.graphql.extensions import log_client_errors
from torale.graphql.limits import DEFAULT_LIMITS, GraphQLLimits
from torale.graphql.pipeline_schema import PipelineSchema
from torale.graphql.plain_fields import PlainFieldExecutor
from torale.graphql.scalars import SCALAR_OVERRIDES
from torale.tasks.graphql import TaskMutation, TaskQuery
from torale.tasks.transfer_graphql import TaskTransferMutation, TaskTransferQuery
from torale.users.graphql import UserMutation, UserQuery
from torale.webhooks.graphql import WebhookMutation, WebhookQuery

Query = merge_types(
    "Query",
    (
        UserQuery,
        TaskQuery,
        TaskTransferQuery,
        ExecutionQuery,
        AdminQuery,
        WebhookQuery,
        FeedQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        UserMutation,
        TaskMutation,
        TaskTransferMutation,
        ExecutionMutation,
        AdminMutation,
        WebhookMutation,
    ),
)


class ToraleSchema(PipelineSchema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Strawberry's default logs every error with its traceback, a client's typo too.
        log_client_errors(errors)


def build_schema(limits: GraphQLLimits = DEFAULT_LIMITS) -> ToraleSchema:
    # Guards, input checks, the unit of work and error masking are the pipeline's
    # steps (torale.graphql.pipeline), shared with REST, not Strawberry extensions.
    return ToraleSchema(
        query=Query,
        mutation=Mutation,
        # snake_case on the wire: GraphQL and REST share field names one to one.
        config=StrawberryConfig(auto_camel_case=False),
        scalar_overrides=SCALAR_OVERRIDES,
        # Plain fields (most of a list page) read without Strawberry's per-field wrapper.
        execution_context_class=PlainFieldExecutor,
        limits=limits,
    )


# The schema with the default limits: the exported SDL, the dashboard, most apps.
schema = build_schema()


@functools.lru_cache(maxsize=4)
def _schema_with(limits: GraphQLLimits) -> ToraleSchema:
    return build_schema(limits)


def schema_for(settings: Settings) -> ToraleSchema:
    """The schema enforcing `settings`' GraphQL limits (the shared one for the defaults)."""
    limits = GraphQLLimits.from_settings(settings)
    return schema if limits == DEFAULT_LIMITS else _schema_with(limits)
