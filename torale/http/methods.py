"""Honest 405 answers: the right status for a known path, and every method it allows.

Starlette routes one route at a time, which gets two things wrong:

- `PUT /api/v1/tasks/preview` reaches `PUT /api/v1/tasks/{task_id}` (a full match)
  and fails as a malformed id (422), although `preview` is a literal path of its own
  that only takes POST. A literal path shadows a templated one here, as a reader of
  the document expects.
- a 405's `Allow` names the methods of the first route that matched the path only;
  `/api/v1/tasks/{task_id}` is three routes (GET, PUT, DELETE), so `PATCH` was told
  `Allow: GET`.

`allowed_methods` answers both from the app's routes: of the routes whose path matches,
those with the fewest path parameters are the path's routes, and their methods are
its methods.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Route

from torale.http.responses import JSONBody

METHOD_NOT_ALLOWED = "Method Not Allowed"


def _method_routes(routes: list[BaseRoute]) -> list[Route]:
    return [r for r in routes if isinstance(r, Route) and r.methods]


def allowed_methods(routes: list[BaseRoute], path: str) -> set[str] | None:
    """The methods `path` answers, or None when no route has that path."""
    matching = [r for r in _method_routes(routes) if r.path_regex.match(path)]
    if not matching:
        return None
    fewest = min(len(r.param_convertors) for r in matching)
    return {m for r in matching if len(r.param_convertors) == fewest for m in r.methods or ()}


def allow_header(methods: set[str]) -> str:
    return ", ".join(sorted(methods))


def method_not_allowed(methods: set[str]) -> JSONBody:
    return JSONBody(
        {"detail": METHOD_NOT_ALLOWED}, status_code=405, headers={"Allow": allow_header(methods)}
    )


class LiteralPathMethodsMiddleware:
    """405 for a wrong method on a literal path that a templated route would also match.

    Only literal paths are looked at (one dict lookup per request); every other 405 is
    Starlette's, with its `Allow` completed by the error handler (`torale.http.errors`).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._literal: dict[str, set[str]] | None = None

    def _literal_paths(self, routes: list[BaseRoute]) -> dict[str, set[str]]:
        if self._literal is None:
            table: dict[str, set[str]] = {}
            for route in _method_routes(routes):
                # The documented REST paths; `/graphql` answers its own 405s.
                if route.include_in_schema and not route.param_convertors:
                    table.setdefault(route.path, set()).update(route.methods or ())
            self._literal = table
        return self._literal

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            allowed = self._literal_paths(scope["app"].routes).get(scope["path"])
            if allowed is not None and scope["method"] not in allowed:
                await method_not_allowed(allowed)(scope, receive, send)
                return
        await self.app(scope, receive, send)
