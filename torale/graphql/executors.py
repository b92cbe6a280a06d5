"""The graphql-core executors of our two entry points, REST operations and `/graphql`."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLObjectType
from graphql.execution.incremental import IncrementalExecutor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from torale.graphql.leaf_fields import PlainLeafFieldsMixin


class SerialRootFieldsMixin:
    """Root fields run one after another, for queries too (mutations already do).

    Every resolver of a request shares one session, hence one connection, which
    runs one statement at a time anyway: parallel root fields gain nothing. Worse,
    when the first of them opens the session's connection (nothing else has yet,
    e.g. after an authentication answered from the cache), a second one starting
    meanwhile makes SQLAlchemy refuse with "session is provisioning a new
    connection; concurrent operations are not permitted".
    """

    def execute_root_grouped_field_set(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: Any,
        serially: bool,
        position_context: Any,
    ) -> Any:
        return super().execute_root_grouped_field_set(  # type: ignore[misc]
            root_type, root_value, grouped_field_set, True, position_context
        )


class RestExecutor(SerialRootFieldsMixin, PlainLeafFieldsMixin, IncrementalExecutor):
    """The executor `OperationRegistry.run` hands to graphql-core's `execute`."""


class GraphQLEndpointExecutor(
    SerialRootFieldsMixin, PlainLeafFieldsMixin, StrawberryGraphQLCoreExecutionContext
):
    """The executor Strawberry uses for `/graphql`."""
