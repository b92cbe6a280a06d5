"""REST routes turn away the paths they cannot match before trying their pattern, and
match exactly what their pattern matches (torale.http.flat_routes)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Match

from torale.http.flat_routes import PrefixCheckedRoute


async def _endpoint() -> None:
    pass


def _scope(path: str, method: str = "GET", root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": root_path}


class _Untried:
    """A pattern the route must not need."""

    def match(self, path: str) -> Any:
        raise AssertionError(f"the pattern was tried on {path}")


def test_a_path_without_the_routes_literal_start_is_turned_away_without_its_pattern():
    templated = PrefixCheckedRoute("/api/v1/tasks/{task_id}", _endpoint, methods=["GET"])
    literal = PrefixCheckedRoute("/api/v1/tasks", _endpoint, methods=["GET"])
    templated.path_regex = literal.path_regex = _Untried()  # type: ignore[assignment]
    for path in ("/admin/users", "/api/v1/task", "/api/v1/tasks"):
        assert templated.matches(_scope(path))[0] is Match.NONE
    for path in ("/api/v1/tasks/", "/api/v1/tasks/x", "/api/v1/task"):
        assert literal.matches(_scope(path))[0] is Match.NONE


def _probe_paths(app: Any) -> set[str]:
    """Every route's path with its parameters filled, with and without a trailing slash,
    and cut after each of its slashes."""
    paths = {"/", "/nothing", "/graphql"}
    for route in app.router.routes:
        if not hasattr(route, "path"):
            continue  # the included GraphQL router
        filled = re.sub(r"\{[^}]+\}", "3f1c7a7e-1111-4c8b-9d55-000000000000", route.path)
        paths.update({filled, filled + "/", filled.rstrip("/") + "/x"})
        paths.update(filled[: i + 1] for i, c in enumerate(filled) if c == "/")
    return paths


def test_every_rest_route_matches_exactly_what_its_pattern_matches(settings):
    from torale.app import create_app

    app = create_app(settings)
    checked = [r for r in app.router.routes if isinstance(r, PrefixCheckedRoute)]
    assert "/api/v1/tasks/{task_id}" in {r.path for r in checked}
    paths = _probe_paths(app)
    for route in checked:
        plain = APIRoute(route.path, _endpoint, methods=route.methods)
        for path in paths:
            for method in ("GET", "POST"):
                for scope in (_scope(path, method), _scope("/base" + path, method, "/base")):
                    assert route.matches(scope)[0] is plain.matches(scope)[0], (route.path, scope)
