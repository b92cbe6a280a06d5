"""Whether `/graphql` answers introspection: on in development and tests, off in production.

A production schema is no secret worth much, but a full map of every field and argument
handed to anonymous callers is free reconnaissance; `TORALE_GRAPHQL_INTROSPECTION=true`
turns it back on. When off, `__schema` / `__type` are a validation error. Decided per
request from the request's own settings, so one process may serve apps configured
either way (tests do).
"""

from __future__ import annotations

from typing import Any


def introspection_enabled(settings: Any) -> bool:
    configured = getattr(settings, "graphql_introspection", None)
    if configured is not None:
        return bool(configured)
    return getattr(settings, "environment", "development") != "production"
