"""The status an ASGI app answered with, for middlewares that report on requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]


class NotedStatus:
    """Stands in for the ASGI `send` and notes the response's status. 500 until the app
    starts its response: what the client gets when the app fails before answering."""

    __slots__ = ("_send", "status")

    def __init__(self, send: Callable[[Message], Awaitable[None]]) -> None:
        self._send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)
