"""The one place that turns errors into HTTP answers (SPEC §3)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from torale.errors import ToraleError
from torale.graphql.error_codes import http_error_body
from torale.http.asgi import HttpMiddleware
from torale.http.methods import allowed_methods, method_not_allowed
from torale.http.responses import JSONBody

log = logging.getLogger(__name__)
client_log = logging.getLogger("torale.http.client_errors")


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


def _log_refusal(request: Request, status: int, code: str, message: str) -> None:
    """A domain error or refused input: one line, never a traceback (not our bug)."""
    client_log.log(
        logging.WARNING if status >= 500 else logging.INFO,
        "%s %s answered %s %s: %s",
        request.method,
        request.url.path,
        status,
        code,
        message,
        extra={"status": status, "code": code, "path": request.url.path},
    )


async def _on_domain_error(request: Request, exc: Exception) -> JSONBody:
    assert isinstance(exc, ToraleError)
    _log_refusal(request, exc.status_code, exc.code, exc.message)
    return error_response(exc, request)


async def _on_request_validation(request: Request, exc: Exception) -> JSONBody:
    assert isinstance(exc, RequestValidationError)
    detail = validation_detail(exc.errors())
    first = detail[0] if detail else {"loc": [], "msg": ""}
    where = ".".join(str(part) for part in first["loc"])
    _log_refusal(request, 422, "VALIDATION_ERROR", f"{where}: {first['msg']}")
    return JSONBody({"detail": detail}, status_code=422)


async def _on_http_exception(request: Request, exc: Exception) -> JSONBody:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        methods = allowed_methods(request.app, request.url.path)
        if methods:
            return method_not_allowed(methods)
    return JSONBody({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


INTERNAL_ERROR = b'{"detail":"Internal server error"}'


class UnexpectedErrors(HttpMiddleware):
    """Our bugs: logged once with the traceback, answered 500.

    A pure ASGI middleware rather than an `Exception` handler: Starlette hands those to
    its ServerErrorMiddleware, which re-raises after answering, so the server logged
    the same traceback a second time.
    """

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = False

        async def noting_start(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, noting_start)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:
                return  # too late to answer; the connection is closed
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": INTERNAL_ERROR})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ToraleError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    # Innermost middleware: what the routes raise and no handler above took.
    app.add_middleware(UnexpectedErrors)
