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

import re
import weakref
from dataclasses import dataclass
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, compile_path

from torale.http.responses import JSONBody

METHOD_NOT_ALLOWED = "Method Not Allowed"


@dataclass(frozen=True)
class _PathRoute:
    path: str
    regex: re.Pattern[str]
    params: int
    methods: frozenset[str]
    documented: bool


_TABLES: weakref.WeakKeyDictionary[Any, tuple[_PathRoute, ...]] = weakref.WeakKeyDictionary()


def _path_routes(app: Any) -> tuple[_PathRoute, ...]:
    """The app's routes with their full paths (FastAPI keeps included routers nested),
    read once per app: routes are all added before the first request."""
    table = _TABLES.get(app)
    if table is None:
        table = _TABLES[app] = _read_routes(app.routes)
    return table


def _read_routes(routes: list[BaseRoute]) -> tuple[_PathRoute, ...]:
    found = []
    for context in iter_route_contexts(routes):
        if not context.path or not context.methods:
            continue
        regex, _, convertors = compile_path(context.path)
        documented = bool(getattr(context, "include_in_schema", False))
        found.append(
            _PathRoute(context.path, regex, len(convertors), frozenset(context.methods), documented)
        )
    return tuple(found)


def allowed_methods(app: Any, path: str) -> set[str] | None:
    """The methods `path` answers in `app`, or None when no route has that path."""
    matching = [r for r in _path_routes(app) if r.regex.match(path)]
    if not matching:
        return None
    fewest = min(r.params for r in matching)
    return {m for r in matching if r.params == fewest for m in r.methods}


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

    def _literal_paths(self, app: Any) -> dict[str, set[str]]:
        if self._literal is None:
            table: dict[str, set[str]] = {}
            for route in _path_routes(app):
                # The documented REST paths; `/graphql` answers its own 405s.
                if route.documented and not route.params:
                    table.setdefault(route.path, set()).update(route.methods)
            self._literal = table
        return self._literal

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            allowed = self._literal_paths(scope["app"]).get(scope["path"])
            if allowed is not None and scope["method"] not in allowed:
                await method_not_allowed(allowed)(scope, receive, send)
                return
        await self.app(scope, receive, send)
