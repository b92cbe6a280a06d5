"""Database engine, sessions, and migrations.

Services flush; whoever owns the unit of work (the request dependency, a worker
activity) commits or rolls back. Nothing else commits.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from torale.config import Settings
from torale.db_json import loads_json_column
from torale.db_outage import report_outages

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "infra" / "migrations"


def to_async_url(database_url: str) -> str:
    """DATABASE_URL as SQLAlchemy's asyncpg dialect wants it."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+asyncpg://" + database_url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


def create_engine(settings: Settings, *, pre_ping: bool = True) -> AsyncEngine:
    """The engine; `pre_ping=False` for API requests, which retry reads instead.

    A restart kills every pooled connection. With `pre_ping` each is tested before use
    (a round trip per checkout) and replaced. Without it, the first statement on a dead
    connection fails as a disconnect: SQLAlchemy then drops every pooled connection
    older than the failure, the error is a 503 `DatabaseUnavailable`, and the API runs
    a read once more on a fresh connection (the pipeline's query operations and the
    API-key lookup), so only writes caught by the restart see the 503. Either way the
    process recovers by itself.
    """
    assert settings.database_url, "DATABASE_URL must be resolved before the engine is built"
    engine = create_async_engine(
        to_async_url(settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=pre_ping,
        # orjson where exact (big integers fall back to the stdlib); see db_json.
        json_deserializer=loads_json_column,
    )
    # Unreachable PostgreSQL is a 503 DatabaseUnavailable, not a driver error.
    report_outages(engine)
    return engine


_autocommit: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def autocommit_engine(engine: AsyncEngine) -> AsyncEngine:
    """`engine` sending each statement on its own: no BEGIN, no COMMIT round trips.

    For reads, where a transaction buys nothing. The same pool; the isolation level is
    set on checkout and reset on return by SQLAlchemy, without a round trip on asyncpg.
    """
    if engine.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return engine
    found = _autocommit.get(engine)
    if found is None:
        found = _autocommit[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


# Where `make_read_only` notes the engine a session's lone reads may use.
_LONE_READS = "torale.lone_reads"


def make_read_only(session: AsyncSession) -> None:
    """`session` only reads: its statements go without BEGIN and COMMIT
    (`autocommit_engine`), and a read may run on a connection of its own
    (`engine_for_lone_reads`).

    Only while the session has not started a transaction yet (authenticating on a cache
    miss does); then it simply stays in that transaction.
    """
    bind = session.bind
    if session.in_transaction() or not isinstance(bind, AsyncEngine):
        return
    session.info.setdefault(_LONE_READS, bind)
    session.bind = autocommit_engine(bind)


def engine_for_lone_reads(session: AsyncSession) -> AsyncEngine | None:
    """The engine a read of `session` may run on, on a connection of its own, outside
    the session: when the session is `make_read_only`'s (each of its statements stands alone
    anyway), has not opened a connection (so a request holding one never waits for a
    second) and has nothing to flush first. None otherwise.
    """
    engine = session.info.get(_LONE_READS)
    if engine is None or not sent_nothing(session):
        return None
    assert isinstance(engine, AsyncEngine)
    return engine


def sent_nothing(session: AsyncSession) -> bool:
    """No transaction begun (so no connection held) and no change waiting to be flushed:
    committing or rolling back `session` would send nothing."""
    if session.in_transaction():
        return False
    if _holds_no_object(session):
        return True  # nothing pending, so nothing new, changed or deleted either
    return not (session.new or session.dirty or session.deleted)


def holds_nothing(session: AsyncSession) -> bool:
    """`sent_nothing`, and no object loaded either: closing `session` would do nothing."""
    return not session.in_transaction() and _holds_no_object(session)


def _holds_no_object(session: AsyncSession) -> bool:
    """Neither a pending object nor one in the identity map: a read-only request's
    session, asked several times per request. Iterating the session gives exactly
    those (`Session.__iter__`); a changed or deleted object is always among them (only
    persistent objects are), so none of `session.new`, `dirty` and `deleted` (each
    builds a set) needs asking."""
    for _ in session.sync_session:
        return False
    return True


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after the request commits.
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def migrate(database_url: str, revision: str = "head") -> None:
    """Apply Alembic migrations (blocking; safe to run from several processes at once)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    command.upgrade(config, revision)
