"""How much work one GraphQL request may ask for: each limit is a setting.

`TORALE_GRAPHQL_*` (torale.config, where the defaults are) set them; the schema is built
with the limits of its settings (torale.graphql.schema.schema_for) and the guards that
enforce them are in torale.graphql.guards.
"""

from __future__ import annotations

from dataclasses import dataclass

from torale.config import Settings


@dataclass(frozen=True)
class GraphQLLimits:
    # Nesting of selections (`task { executions { task ... } }`).
    max_depth: int
    # Fields requested again under another name.
    max_aliases: int
    # Tokens the parser reads before it gives up on a document.
    max_tokens: int
    # Estimated resolved fields, list fields counted times their page size ...
    max_cost: int
    # ... which is this when a list field has no `limit`/`first` argument or default.
    default_list_size: int
    # Operations in one batched HTTP request; 0 turns batching off.
    max_batch_operations: int

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


# The documented defaults (the settings' own, whatever the environment says).
DEFAULT_LIMITS = GraphQLLimits.from_settings(Settings.model_construct())
