"""The one place that turns errors into HTTP answers (SPEC §3)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from torale.errors import ToraleError
from torale.graphql.error_codes import http_error_body
from torale.http.responses import JSONBody

log = logging.getLogger(__name__)


_GRAPHQL_SCOPE_KEY = "torale.graphql_request"


def mark_graphql_request(request: Request) -> None:
    """Errors of this request are answered in GraphQL's shape, `{"errors": [...]}`."""
    request.scope[_GRAPHQL_SCOPE_KEY] = True


def error_response(error: ToraleError, request: Request | None = None) -> JSONBody:
    if request is not None and request.scope.get(_GRAPHQL_SCOPE_KEY):
        body = http_error_body(error)
        return JSONBody(body, status_code=error.status_code, headers=error.headers())
    return JSONBody(error.body(), status_code=error.status_code, headers=error.headers())


def validation_detail(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's validation errors trimmed to the contract's `{loc, msg, type}`."""
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]


async def _on_domain_error(request: Request, exc: Exception) -> JSONBody:
    assert isinstance(exc, ToraleError)
    return error_response(exc, request)


async def _on_request_validation(_: Request, exc: Exception) -> JSONBody:
    assert isinstance(exc, RequestValidationError)
    return JSONBody({"detail": validation_detail(exc.errors())}, status_code=422)


async def _on_http_exception(_: Request, exc: Exception) -> JSONBody:
    assert isinstance(exc, StarletteHTTPException)
    return JSONBody({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONBody:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONBody({"detail": "Internal server error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ToraleError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
