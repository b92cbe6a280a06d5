"""Swagger UI (`/docs`), ReDoc (`/redoc`) and GraphiQL (`/graphql`), working offline.

FastAPI's and Strawberry's pages load their JavaScript and CSS from public CDNs, so
they are blank without Internet access or behind a firewall. Here every asset comes
from an installed Python package and is served by the API under `/assets/...`:

- `fastapi-offline` ships the Swagger UI bundle, its CSS, the ReDoc bundle and a
  favicon (only its files are used, not its FastAPI subclass);
- `graphene-django-graphiql-static` ships GraphiQL, React and React DOM (only its
  files are used; its Django view is never imported).

The pages themselves are FastAPI's own page builders pointed at those URLs, and a
small GraphiQL page of ours. Nothing on them names another host.
"""

from __future__ import annotations

import html
import importlib.util
import json
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

API_DOCS_ASSETS = "/assets/api-docs"
GRAPHIQL_ASSETS = "/assets/graphiql"

# Swagger UI would otherwise ask validator.swagger.io to judge the document.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def package_dir(package: str, *parts: str) -> Path:
    """A directory inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {package} package is not installed")
    found = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not found.is_dir():
        raise RuntimeError(f"{found} is missing from the installed {package} package")
    return found


def install_docs(app: FastAPI) -> None:
    """Serve the assets and the two REST documentation pages (the app is built with
    `docs_url=None, redoc_url=None`, so FastAPI's CDN pages are not there)."""
    app.mount(
        API_DOCS_ASSETS,
        StaticFiles(directory=package_dir("fastapi_offline", "static")),
        name="api-docs-assets",
    )
    app.mount(
        GRAPHIQL_ASSETS,
        StaticFiles(
            directory=package_dir(
                "graphene_django_graphiql_static", "static", "graphene_django_graphiql_static"
            )
        ),
        name="graphiql-assets",
    )
    oauth2_redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{API_DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{API_DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{API_DOCS_ASSETS}/favicon.png",
            oauth2_redirect_url=f"{root}{oauth2_redirect}",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{API_DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{API_DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


_GRAPHIQL_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Torale GraphiQL</title>
  <link rel="icon" href="{favicon}">
  <link rel="stylesheet" href="{assets}/graphiql.min.css">
  <style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
  <script src="{assets}/react.production.min.js"></script>
  <script src="{assets}/react-dom.production.min.js"></script>
  <script src="{assets}/graphiql.min.js"></script>
</head>
<body>
  <div id="graphiql">Loading...</div>
  <script>
    // Same-origin POSTs to this page's own URL; put your key in the Headers tab:
    // {{"Authorization": "Bearer sk_..."}}
    const fetcher = GraphiQL.createFetcher({{ url: window.location.pathname }});
    ReactDOM.render(
      React.createElement(GraphiQL, {{
        fetcher: fetcher,
        headerEditorEnabled: true,
        shouldPersistHeaders: false,
        defaultHeaders: {headers},
        defaultEditorToolsVisibility: "headers",
      }}),
      document.getElementById("graphiql"),
    );
  </script>
</body>
</html>
"""


def graphiql_page(root_path: str = "") -> str:
    """GraphiQL, React and CSS from `/assets/graphiql`: no other host is named."""
    headers = json.dumps(json.dumps({"Authorization": "Bearer sk_..."}, indent=2))
    return _GRAPHIQL_PAGE.format(
        assets=html.escape(f"{root_path}{GRAPHIQL_ASSETS}", quote=True),
        favicon=html.escape(f"{root_path}{API_DOCS_ASSETS}/favicon.png", quote=True),
        headers=headers,
    )
