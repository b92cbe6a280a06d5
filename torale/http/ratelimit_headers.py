"""Put the rate-limit headers on every authenticated response, errors included.

Handlers return ready-made responses and errors are rendered by exception handlers,
so the headers are carried in the request scope and added by this ASGI middleware
when the response starts.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from torale.http.asgi import HttpMiddleware

_SCOPE_KEY = "torale.rate_limit_headers"


def remember_headers(request: Request, headers: dict[str, str]) -> None:
    request.scope[_SCOPE_KEY] = headers


class RateLimitHeadersMiddleware(HttpMiddleware):
    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
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
