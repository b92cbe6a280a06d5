"""How much work one GraphQL request may ask for; each limit is a setting.

Kept apart from the guards that enforce them (torale.graphql.guards) so the settings
can name the defaults without importing graphql-core. `TORALE_GRAPHQL_*` variables
override them (torale.config); the schema is built with the limits of its settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torale.config import Settings


@dataclass(frozen=True)
class GraphQLLimits:
    # Nesting of selections (`task { executions { task ... } }`).
    max_depth: int = 10
    # Fields requested again under another name.
    max_aliases: int = 30
    # Tokens the parser reads before it gives up on a document.
    max_tokens: int = 5000
    # Estimated resolved fields, list fields counted times their page size ...
    max_cost: int = 20000
    # ... which is this when a list field has no `limit`/`first` argument or default.
    default_list_size: int = 20
    # Operations in one batched HTTP request; 0 turns batching off.
    max_batch_operations: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> GraphQLLimits:
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            max_cost=settings.graphql_max_cost,
            default_list_size=settings.graphql_default_list_size,
            max_batch_operations=settings.graphql_max_batch_operations,
        )


DEFAULT_LIMITS = GraphQLLimits()
