"""PostgreSQL outages become `DatabaseUnavailable` (503), wherever the database is used.

Two SQLAlchemy engine events see every failure, so no caller has to:

- `do_connect` wraps opening a connection: refused, timed out, "the database system
  is starting up" (asyncpg raises these raw, not as DBAPI errors);
- `handle_error` sees errors on an open connection: one that was closed under us
  (a restart terminates every session) or any connection-class SQLSTATE. It marks
  the connection a disconnect, so the pool drops it, and `pool_pre_ping` replaces
  the other pooled connections the restart killed on their next checkout.

The API renders the error as 503 `Database unavailable, try again shortly`, GraphQL as
code `UNAVAILABLE`, and worker activities as a retryable failure.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from torale.errors import DatabaseUnavailable

# 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now;
# 53300: too many connections.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def _sqlstate(error: BaseException | None) -> str | None:
    """The SQLSTATE of asyncpg's error, raw or wrapped by SQLAlchemy's adapter."""
    seen = 0
    while error is not None and seen < 5:
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str):
            return state
        error = getattr(error, "orig", None) or error.__cause__
        seen += 1
    return None


def is_outage(error: BaseException) -> bool:
    """An error that says the server is unreachable, not that the statement is wrong."""
    if isinstance(error, OSError):  # refused, reset, timed out (TimeoutError is an OSError)
        return True
    state = _sqlstate(error)
    return state is not None and state.startswith(_UNAVAILABLE_SQLSTATES)


def _on_connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    try:
        return dialect.connect(*cargs, **cparams)
    except Exception as exc:
        if is_outage(exc):
            raise DatabaseUnavailable() from exc
        raise


def _on_error(context: ExceptionContext) -> BaseException | None:
    # A failed pre-ping must stay a disconnect the pool handles by reconnecting.
    if context.is_pre_ping:
        return None
    if context.is_disconnect or is_outage(context.original_exception):
        context.is_disconnect = True
        return DatabaseUnavailable()
    return None


def report_outages(engine: AsyncEngine) -> None:
    event.listen(engine.sync_engine, "do_connect", _on_connect)
    event.listen(engine.sync_engine, "handle_error", _on_error)
