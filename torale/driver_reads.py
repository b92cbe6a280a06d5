"""Read-only Core selects sent straight to the asyncpg driver, outside any transaction.

A list page of a read-only request ran through SQLAlchemy's execution (execution
context, cursor adapter, result metadata, `Row`s) inside the Session's transaction
(autobegin, connection characteristics, commit, close): about 400 µs of CPU per
request, several times what the driver spends on the query itself. A read-only
request needs none of it: its statements run on their own (autocommit) and its rows
are only shown.

SQLAlchemy still does the SQL: it compiles the statement once per dialect (the text
with its casts, the order of its positional parameters, the type processors of its
binds and columns). A request checks a connection out of the engine's own pool
(`AsyncEngine.raw_connection`, no pre-ping, as for every API request), runs the text
with asyncpg's prepared-statement cache and gives the connection back.

Failures are not interpreted here. When the driver fails, the connection goes back
to the pool (invalidated unless the server answered with an error of the statement
itself) and `driver_rows` answers None: the caller then runs the statement the
ordinary way, where SQLAlchemy decides what the failure means (a disconnect drops the
pool's stale connections and becomes `DatabaseUnavailable`, which the API retries
once), so outages behave exactly as they do without this path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from torale.db_outage import is_outage

_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A select compiled for the driver: what each execution needs, worked out once."""

    sql: str
    # Bind names in the order of the statement's $1, $2, ... placeholders.
    names: tuple[str, ...]
    # Each bind's value as SQLAlchemy would send it (None: sent as given).
    bind_processors: tuple[_Processor, ...]
    # Each column's value as SQLAlchemy would return it; None when no column converts.
    result_processors: tuple[_Processor, ...] | None
    # The names SQLAlchemy's result would give the columns.
    keys: tuple[str, ...]
    # Every bind's value: the caller's values over the statement's own literals.
    defaults: Mapping[str, Any]

    @classmethod
    def of(cls, statement: Select[Any], dialect: Dialect) -> DriverStatement | None:
        """`statement` for the driver, or None when only SQLAlchemy can run it (its
        text changes per execution, or a column's conversion depends on what the
        server reports)."""
        compiled = statement.compile(dialect=dialect)
        positional = getattr(compiled, "positiontup", None)
        if (
            positional is None
            or getattr(compiled, "literal_execute_params", None)
            or getattr(compiled, "post_compile_params", None)
        ):
            return None
        names = tuple(positional)
        binds = getattr(compiled, "binds", {})
        if getattr(compiled, "escaped_bind_names", None) or any(
            name not in binds or binds[name].callable is not None for name in names
        ):
            return None  # names SQLAlchemy rewrites, values computed per execution
        try:
            bind_processors = tuple(
                binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
            )
            result_processors = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in statement.selected_columns
            )
        except Exception:  # e.g. a numeric column that needs the server's type code
            return None
        return cls(
            sql=compiled.string,
            names=names,
            bind_processors=bind_processors,
            result_processors=result_processors if any(result_processors) else None,
            keys=tuple(statement.selected_columns.keys()),
            defaults={name: binds[name].value for name in names if not binds[name].required},
        )

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = {**self.defaults, **params}
        return [
            value if process is None else process(value)
            for process, value in zip(
                self.bind_processors, (values[name] for name in self.names), strict=True
            )
        ]

    def converted(self, records: list[Any]) -> Sequence[Sequence[Any]]:
        processors = self.result_processors
        if processors is None:
            return records
        return [
            tuple(
                value if process is None else process(value)
                for process, value in zip(processors, record, strict=True)
            )
            for record in records
        ]


async def driver_rows(
    engine: AsyncEngine, statement: DriverStatement, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]] | None:
    """The rows of `statement`, run on a pooled connection of its own; None when the
    driver failed (the caller runs it through SQLAlchemy, which judges the failure).

    `engine`: a plain engine, not `autocommit_engine`'s, whose isolation setting would
    be applied on checkout and reset on return for nothing (SQLAlchemy never executes
    on this connection, so it never begins a transaction).
    """
    arguments = statement.arguments(params)
    # An AsyncConnection, not a bare pool checkout: giving a connection back may close
    # it (beyond the pool's size), which needs SQLAlchemy's async context.
    connection = await engine.connect()
    broken = True
    try:
        assert connection.sync_connection is not None
        driver = connection.sync_connection.connection.driver_connection
        assert driver is not None
        records = await driver.fetch(statement.sql, *arguments)
        broken = False
    except Exception as error:
        # Only the server refusing the statement itself (an error with a SQLSTATE, as
        # asyncpg's PostgresError has) leaves the connection sound.
        refused = isinstance(getattr(error, "sqlstate", None), str)
        broken = not refused or is_outage(error)
        return None
    finally:
        # Cancelled too: a connection left in the middle of a reply cannot be reused.
        if broken:
            await connection.invalidate()
        await connection.close()
    return statement.converted(records)
