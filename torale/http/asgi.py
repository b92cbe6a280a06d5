"""The shape our pure ASGI middlewares share: act on HTTP requests, pass the rest on.

They are plain ASGI rather than Starlette's `BaseHTTPMiddleware`, which costs a task
and a stream per request. Lifespan (and any other) scopes go straight to the app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


class HttpMiddleware:
    """Subclasses implement `http`, called for each HTTP request only."""

    def __init__(self, app: Any) -> None:
        self.app = app

    # Not `async`: it hands back the awaitable of whichever runs, so a request pays
    # no extra coroutine for the dispatch.
    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self.http(scope, receive, send)

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise NotImplementedError


def replaying(
    messages: list[dict[str, Any]], receive: Callable[[], Awaitable[dict[str, Any]]]
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """A receive callable that answers `messages` first, in order (a request's messages a
    middleware has read already), then whatever `receive` brings."""

    async def replay() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return await receive()

    return replay
