"""Whether `/graphql` answers introspection: on in development and tests, off in production.

A production schema is no secret worth much, but a full map of every field and argument
handed to anonymous callers is free reconnaissance; `TORALE_GRAPHQL_INTROSPECTION=true`
turns it back on. Decided per request from the request's own settings, so one process
may serve apps configured either way (tests do).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension


def introspection_enabled(settings: Any) -> bool:
    configured = getattr(settings, "graphql_introspection", None)
    if configured is not None:
        return bool(configured)
    return getattr(settings, "environment", "development") != "production"


class IntrospectionPolicy(SchemaExtension):
    """Refuses `__schema` / `__type` (validation error) where introspection is off.

    Without a ToraleContext (the schema run directly, as the export does) there is no
    HTTP caller, and introspection stays on.
    """

    def on_operation(self) -> Iterator[None]:
        resources = getattr(self.execution_context.context, "resources", None)
        settings = getattr(resources, "settings", None)
        if settings is not None and not introspection_enabled(settings):
            self.execution_context.validation_rules = (
                *self.execution_context.validation_rules,
                NoSchemaIntrospectionCustomRule,
            )
        yield
