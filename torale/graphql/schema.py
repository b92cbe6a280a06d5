"""The one Strawberry schema: every domain's queries and mutations merged."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from torale.graphql.extensions import MaskUnexpectedErrors, UnitOfWork
from torale.graphql.scalars import SCALAR_OVERRIDES
from torale.tasks.graphql import TaskMutation, TaskQuery
from torale.users.graphql import UserMutation, UserQuery

Query = merge_types("Query", (UserQuery, TaskQuery))
Mutation = merge_types("Mutation", (UserMutation, TaskMutation))


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        # snake_case on the wire: GraphQL and REST share field names one to one.
        config=StrawberryConfig(auto_camel_case=False),
        scalar_overrides=SCALAR_OVERRIDES,
        extensions=[UnitOfWork, MaskUnexpectedErrors],
    )


schema = build_schema()
