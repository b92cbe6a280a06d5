"""Alembic environment: runs migrations over asyncpg, one migrator at a time."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from torale.db import to_async_url
from torale.models import metadata

# Any constant works; it only has to be the same in every process that migrates.
MIGRATION_LOCK_ID = 727_001


def _database_url() -> str:
    url = context.config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return to_async_url(url)


def _run(connection: Connection) -> None:
    # Two processes starting at once (API replicas, `torale dev` and a CLI call)
    # must not both apply the same revision: serialise on an advisory lock.
    connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    try:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()


async def _run_online() -> None:
    engine = create_async_engine(_database_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def _run_in_fresh_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_run_online())
        return
    # Called from inside a running loop (tests, the dev launcher): use a thread.
    import threading

    error: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(_run_online())
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    _run_in_fresh_loop()
