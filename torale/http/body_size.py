"""An ASGI middleware that refuses large request bodies before they are read into memory
(`TORALE_MAX_REQUEST_BODY_BYTES`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from torale.http.asgi import replaying

# Set in the scope of a request whose every message up to the end of its body (or the
# client's disconnect) is held by this middleware: a receive() answers at once, until
# only the disconnect is left to come.
BODY_IN_HAND = "torale.body_in_hand"


class MaxBodySizeMiddleware:
    """Refuses HTTP request bodies over `max_bytes` with 413, before the app sees them.

    A declared Content-Length is checked up front (the server enforces that the
    body matches it). A body without one is read here up to the limit and replayed
    to the app; it is at most `max_bytes`, so buffering costs no more than the
    limit allows anyway.
    """

    def __init__(
        self,
        app: Any,
        max_bytes: int,
        graphql_path: str | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Requests to this path are refused with a GraphQL-shaped body.
        self.graphql_path = graphql_path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        graphql = self.graphql_path is not None and scope.get("path") == self.graphql_path
        if length is not None:
            if length > self.max_bytes:
                await _too_large(send, graphql)
                return
            await self.app(scope, receive, send)
            return
        # No declared length (chunked, or HTTP/2): count what actually arrives.
        buffered: list[dict[str, Any]] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break  # client went away; let the app see the disconnect
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await _too_large(send, graphql)
                return
            if not message.get("more_body", False):
                break
        scope[BODY_IN_HAND] = True
        await self.app(scope, replaying(buffered, receive), send)


def _content_length(scope: Mapping[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


TOO_LARGE = "Request body too large"


async def _too_large(send: Any, graphql: bool) -> None:
    shaped = (
        {"errors": [{"message": TOO_LARGE, "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}
        if graphql
        else {"detail": TOO_LARGE}
    )
    body = json.dumps(shaped).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
