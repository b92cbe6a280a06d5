"""Which database errors are an outage (503) and which stay the statement's own error."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from torale.db import create_engine
from torale.errors import DatabaseUnavailable


async def test_an_unreachable_server_is_database_unavailable(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    engine = create_engine(
        settings.model_copy(update={"database_url": f"postgresql://postgres@127.0.0.1:{port}/x"})
    )
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert caught.value.status_code == 503
        assert caught.value.message == "Database unavailable, try again shortly"
    finally:
        await engine.dispose()


async def test_a_terminated_session_is_database_unavailable_and_the_pool_recovers(settings):
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}))
    admin = create_engine(settings)
    try:
        async with engine.connect() as victim:
            pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            # What a PostgreSQL restart does to every session: 57P01, admin shutdown.
            async with admin.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(DatabaseUnavailable):
                await victim.execute(text("SELECT 1"))
        # The dead connection left the pool (its only one); the next checkout is live.
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
        await admin.dispose()


async def test_a_failing_statement_keeps_its_own_error(settings):
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as caught:
                await conn.execute(text("SELECT 1 / 0"))
        assert not isinstance(caught.value, DatabaseUnavailable)
        assert "division by zero" in str(caught.value)
    finally:
        await engine.dispose()
