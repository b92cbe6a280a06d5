"""The one Strawberry schema: every domain's queries and mutations merged."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from torale.admin.graphql import AdminMutation, AdminQuery
from torale.executions.graphql import ExecutionMutation, ExecutionQuery
from torale.feeds.graphql import FeedQuery
from torale.graphql.error_codes import ErrorCodes
from torale.graphql.executors import GraphQLEndpointExecutor
from torale.graphql.extensions import MaskUnexpectedErrors, UnitOfWork, log_client_errors
from torale.graphql.guards import batching_config, graphql_guard_extensions
from torale.graphql.input_guard import RefuseBadInput
from torale.graphql.introspection import IntrospectionPolicy
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


def _plain_attribute_resolvers(built: strawberry.Schema) -> strawberry.Schema:
    """Let graphql-core read plain fields straight off the row.

    Strawberry wraps even a resolver-less field in a function that ends in
    `getattr(source, name)`; a 20-task page runs that ~500 times. graphql-core's own
    default resolver does the same lookup without the wrapper, so fields with no
    resolver, no extension and the same Python and GraphQL name are handed to it.
    """
    for concrete in built.schema_converter.type_map.values():
        definition = concrete.definition
        graphql_type = built._schema.type_map.get(definition.name)
        fields = getattr(graphql_type, "fields", None)
        if not fields or not hasattr(definition, "fields"):
            continue
        for field in definition.fields:
            name = built.config.name_converter.get_graphql_name(field)
            if field.is_basic_field and not field.extensions and name == field.python_name:
                fields[name].resolve = None
    return built


class ToraleSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        # Strawberry's default logs every error with its traceback, a client's typo too.
        log_client_errors(errors)


def build_schema() -> strawberry.Schema:
    return _plain_attribute_resolvers(
        ToraleSchema(
            query=Query,
            mutation=Mutation,
            # snake_case on the wire: GraphQL and REST share field names one to one.
            config=StrawberryConfig(auto_camel_case=False, batching_config=batching_config()),
            scalar_overrides=SCALAR_OVERRIDES,
            execution_context_class=GraphQLEndpointExecutor,
            # Guards first: an over-deep, over-wide or over-costly query is refused
            # before any resolver runs.
            extensions=[
                # First, so it codes last: every error leaves with `extensions.code`.
                ErrorCodes,
                *graphql_guard_extensions(),
                IntrospectionPolicy,
                RefuseBadInput,
                UnitOfWork,
                MaskUnexpectedErrors,
            ],
        )
    )


schema = build_schema()
