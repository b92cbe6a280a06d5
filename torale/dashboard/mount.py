"""Serve the dashboard's static files at `/app`, and the little it must know at start.

The files live in this package (`static/`), so `pip install` ships them and there is
nothing to build. Every piece of data the pages show comes from `/graphql`; the one
extra route, `/app/config.json`, says how to sign in (the OIDC issuer and client, when
configured) and how the schema types the closed sets the pages send — needed before
the browser holds any credential.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from graphql import GraphQLEnumType, GraphQLInputObjectType, build_schema, get_named_type
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from torale.config import Settings
from torale.graphql.schema import schema

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/app"


def closed_set_types(sdl: str) -> dict[str, dict[str, Any]]:
    """How the schema spells the closed sets the dashboard sends: the GraphQL type of
    `tasks(state:)` and of a task's `notify_behavior`, and whether each is an enum (then
    values travel as upper-case names). Read from the schema itself, so the pages follow
    it when plain strings become enums."""
    schema = build_schema(sdl)
    query = schema.query_type
    update = schema.get_type("UpdateTaskInput")
    assert query is not None and isinstance(update, GraphQLInputObjectType)
    found = {
        "TaskState": get_named_type(query.fields["tasks"].args["state"].type),
        "NotifyBehavior": get_named_type(update.fields["notify_behavior"].type),
    }
    return {
        kind: {"type": named.name, "enum": isinstance(named, GraphQLEnumType)}
        for kind, named in found.items()
    }


def dashboard_config(settings: Settings, sdl: str) -> dict[str, Any]:
    """What the pages need before they hold a credential: OIDC (only when an issuer and
    a client id are set) and the schema's closed-set types."""
    oidc = None
    if settings.jwt_issuer and settings.oidc_client_id:
        oidc = {
            "issuer": settings.jwt_issuer.rstrip("/"),
            "client_id": settings.oidc_client_id,
            "scope": settings.oidc_scope,
        }
    return {"oidc": oidc, "types": closed_set_types(sdl)}


def content_security_policy(settings: Settings) -> str:
    # The pages talk to this origin only, plus the identity provider's token endpoint
    # (same origin as its issuer in every provider we know) for the PKCE exchange.
    connect = ["'self'"]
    if settings.jwt_issuer:
        parts = urlsplit(settings.jwt_issuer)
        connect.append(f"{parts.scheme}://{parts.netloc}")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {' '.join(connect)}; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    )


class DashboardFiles(StaticFiles):
    """StaticFiles with the dashboard's headers: a strict CSP, and revalidation on
    every load so an upgraded server never runs with stale modules."""

    def __init__(self, *, csp: str) -> None:
        super().__init__(directory=STATIC_DIR, html=True)
        self.csp = csp

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Content-Security-Policy"] = self.csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    # Made by the first request for it: reading the types means printing the schema
    # and building a second one from the text, ~0.9 MiB an idle API would keep (heap
    # growth) for a file only the dashboard asks for.
    config: dict[str, Any] = {}

    @app.get(PREFIX, include_in_schema=False)
    async def dashboard_root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/")

    @app.get(f"{PREFIX}/config.json", include_in_schema=False)
    async def dashboard_config_json() -> JSONResponse:
        if not config:
            config.update(dashboard_config(settings, schema.as_str()))
        return JSONResponse(config, headers={"Cache-Control": "no-cache"})

    app.mount(PREFIX, DashboardFiles(csp=content_security_policy(settings)), name="dashboard")
