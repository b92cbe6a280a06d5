"""The opt-in access log: one structured `torale.access` record per sampled request.

Off by default (`TORALE_ACCESS_LOG_SAMPLE=0`): uvicorn's own access log is always
off, and without sampling this middleware is not even installed, so an unlogged
request pays nothing. With a rate `r`, each request is logged with probability `r`,
as one record whose fields (`method`, `path`, `status`, `duration_ms`, `client`)
become keys in JSON logs (torale.log_setup). The query string is left out: it may
carry a GraphQL document or other user data.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from torale.http.response_status import NotedStatus

log = logging.getLogger("torale.access")

Scope = dict[str, Any]


class AccessLogMiddleware:
    def __init__(self, app: Any, sample: float = 1.0) -> None:
        self.app = app
        self.sample = sample

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (self.sample < 1.0 and random.random() >= self.sample):
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        noted = NotedStatus(send)
        try:
            await self.app(scope, receive, noted)
        finally:
            status = noted.status
            duration_ms = round((time.perf_counter() - began) * 1000, 2)
            client = scope.get("client")
            log.info(
                "%s %s %s %.1fms",
                scope["method"],
                scope["path"],
                status,
                duration_ms,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration_ms,
                    "client": client[0] if client else None,
                },
            )
