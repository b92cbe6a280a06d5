"""Put the rate-limit headers on every authenticated response, errors included.

Handlers return ready-made responses and errors are rendered by exception handlers,
so the headers are carried in the request scope and added by this ASGI middleware
when the response starts.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

_SCOPE_KEY = "torale.rate_limit_headers"


def remember_headers(request: Request, headers: dict[str, str]) -> None:
    request.scope[_SCOPE_KEY] = headers


class RateLimitHeadersMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                extra = scope.get(_SCOPE_KEY)
                if extra:
                    message["headers"] = [
                        *message.get("headers", []),
                        *((k.lower().encode(), v.encode()) for k, v in extra.items()),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
