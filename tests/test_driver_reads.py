"""Read-only list pages sent straight to the driver (torale.driver_reads): the same rows
as SQLAlchemy gives, every connection back in the pool, and every failure judged by
SQLAlchemy exactly as before."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import bindparam, column, literal_column, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.helpers import pooled_backend_pid, statements_seen, task_body, terminate_backend
from torale.db import create_engine, make_read_only
from torale.driver_reads import DriverStatement
from torale.errors import DatabaseUnavailable
from torale.pagination import PagedQuery, PageRequest, fetch_page
from torale.tasks.models import TaskState
from torale.tasks.service import _task_list


@asynccontextmanager
async def request_engine(settings, **overrides) -> AsyncIterator[AsyncEngine]:
    """An engine as API requests get it (no pre-ping)."""
    engine = create_engine(settings.model_copy(update=overrides), pre_ping=False)
    try:
        yield engine
    finally:
        await engine.dispose()


def read_only(engine: AsyncEngine) -> AsyncSession:
    """A session as a read-only request has it (`ToraleContext.read_only`)."""
    session = AsyncSession(engine, expire_on_commit=False)
    make_read_only(session)
    return session


SERIES = text("generate_series(1, 10) AS n")
n = column("n")


async def test_the_task_list_reads_the_same_on_the_driver_as_statements_seen(
    settings, client, make_account
):
    """Values, their types and the records' fields, for every filter shape and a page
    past the end (counted on its own)."""
    account = await make_account()
    for name in ("a", "b", "c"):
        created = await client.post(
            "/api/v1/tasks",
            json=task_body(name=name, config={"big": 2**70}),
            headers=account.headers,
        )
        assert created.status_code == 201, created.text
    async with request_engine(settings) as engine, statements_seen(engine) as seen:
        for by_state, active in [(False, None), (True, None), (False, True), (True, False)]:
            query = _task_list(by_state, active)
            params = {"owner": account.user_id}
            if by_state:
                params["state"] = TaskState.ACTIVE
            for page in (PageRequest(1, 2), PageRequest(2, 2), PageRequest(5, 2)):
                async with AsyncSession(engine) as session:
                    expected = await fetch_page(session, query, page, params)
                async with read_only(engine) as session:
                    before = len(seen)
                    got = await fetch_page(session, query, page, params)
                    assert len(seen) == before  # nothing went through SQLAlchemy
                    assert not session.in_transaction()
                assert got == expected
                assert [r._fields for r in got[0]] == [r._fields for r in expected[0]]
                assert [[type(v) for v in r] for r in got[0]] == [
                    [type(v) for v in r] for r in expected[0]
                ]
        assert engine.pool.checkedout() == 0


async def test_a_failing_statement_fails_as_sqlalchemy_fails_it_and_keeps_the_pool(settings):
    """The driver's failure is not interpreted: SQLAlchemy runs the statement again and
    raises its own error; the connection was sound, and is back in the pool."""
    query = PagedQuery(select(literal_column("1 / (n - n)").label("x")).select_from(SERIES))
    async with request_engine(settings, db_pool_size=1, db_max_overflow=0) as engine:
        async with read_only(engine) as session, statements_seen(engine) as seen:
            with pytest.raises(DBAPIError, match="division by zero") as caught:
                await fetch_page(session, query, PageRequest(1, 5))
            assert not isinstance(caught.value, DatabaseUnavailable)
            assert len(seen) == 1  # SQLAlchemy's own run of it
        assert engine.pool.checkedout() == 0
        async with read_only(engine) as session:
            rows, total = await fetch_page(session, _series(), PageRequest(1, 3), {"upto": 4})
            assert ([r.n for r in rows], total) == ([1, 2, 3], 4)


def _series() -> PagedQuery:
    return PagedQuery(select(n).select_from(SERIES).where(n <= bindparam("upto")).order_by(n))


async def test_a_killed_connection_is_dropped_and_the_read_still_answers(settings):
    """A PostgreSQL restart kills pooled connections: the driver's failure drops the
    dead one, and the statement then runs through SQLAlchemy on a fresh connection
    (or fails there as `DatabaseUnavailable`, which the API retries)."""
    query = _series()
    async with request_engine(settings, db_pool_size=1, db_max_overflow=0) as engine:
        killed = await pooled_backend_pid(engine)
        await terminate_backend(settings, killed)
        async with read_only(engine) as session:
            rows, total = await fetch_page(session, query, PageRequest(1, 3), {"upto": 4})
            assert ([r.n for r in rows], total) == ([1, 2, 3], 4)
        assert engine.pool.checkedout() == 0
        assert await pooled_backend_pid(engine) != killed


async def test_a_cancelled_read_drops_its_connection_and_the_pool_serves_on(settings):
    slow = PagedQuery(select(literal_column("pg_sleep(5)").label("slept")))
    async with request_engine(settings, db_pool_size=1, db_max_overflow=0) as engine:
        first = await pooled_backend_pid(engine)
        async with read_only(engine) as session:
            reading = asyncio.ensure_future(fetch_page(session, slow, PageRequest(1, 1)))
            await asyncio.sleep(0.3)
            reading.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reading
        # Left in the middle of a reply, it was not put back for the next request.
        assert engine.pool.checkedout() == 0
        assert await pooled_backend_pid(engine) != first
        async with read_only(engine) as session:
            rows, total = await fetch_page(session, _series(), PageRequest(1, 3), {"upto": 2})
            assert ([r.n for r in rows], total) == ([1, 2], 2)


async def test_a_connection_beyond_the_pool_size_is_closed_when_given_back(settings, caplog):
    """Closing one (the pool is full when it comes back) is I/O SQLAlchemy must run in
    its async context: it is closed, not left open with an error logged."""
    slow = PagedQuery(select(literal_column("pg_sleep(0.3)").label("slept")))
    async with request_engine(settings, db_pool_size=1, db_max_overflow=1) as engine:

        async def read() -> tuple[list, int]:
            async with read_only(engine) as session:
                return await fetch_page(session, slow, PageRequest(1, 1))

        with caplog.at_level(logging.ERROR, logger="sqlalchemy.pool"):
            pages = await asyncio.gather(read(), read())
        assert [total for _, total in pages] == [1, 1]
        assert [record.getMessage() for record in caplog.records] == []
        assert (engine.pool.checkedout(), engine.pool.checkedin()) == (0, 1)


async def test_only_a_read_only_session_with_nothing_begun_or_pending_reads_on_the_driver(
    settings,
):
    """A session in a transaction (a write, or a key lookup before `read_only`) keeps its
    reads in it; pending objects are flushed first, through SQLAlchemy."""
    from torale.users.models import User

    columns = PagedQuery(select(*User.__table__.columns).where(User.email == bindparam("e")))
    email = f"pending-{uuid.uuid4().hex[:8]}@example.com"
    async with request_engine(settings) as engine, statements_seen(engine) as seen:
        async with AsyncSession(engine) as session:
            await fetch_page(session, _series(), PageRequest(1, 3), {"upto": 4})
            assert len(seen) == 1 and session.in_transaction()
        async with read_only(engine) as session:
            await session.connection()
            await fetch_page(session, _series(), PageRequest(1, 3), {"upto": 4})
            assert len(seen) == 2
        async with read_only(engine) as session:
            session.add(User(email=email))
            rows, total = await fetch_page(session, columns, PageRequest(1, 20), {"e": email})
            assert (total, rows[0].email) == (1, email)
            assert seen[-1].startswith("SELECT") and seen[-2].startswith("INSERT")
        assert engine.pool.checkedout() == 0


async def test_a_list_query_built_per_request_stays_with_sqlalchemy(settings):
    """Only a `PagedQuery` prepared once is compiled for the driver: a select built per
    request keeps SQLAlchemy's cached compilation."""
    built = select(n).select_from(SERIES).where(n <= bindparam("upto")).order_by(n)
    async with request_engine(settings) as engine, statements_seen(engine) as seen:
        async with read_only(engine) as session:
            rows, total = await fetch_page(session, built, PageRequest(1, 3), {"upto": 4})
        assert ([r.n for r in rows], total) == ([1, 2, 3], 4)
        assert len(seen) == 1


def test_statements_whose_text_changes_per_execution_stay_with_sqlalchemy():
    from sqlalchemy.dialects.postgresql.asyncpg import dialect

    expanding = select(n).select_from(SERIES).where(n.in_(bindparam("ns", expanding=True)))
    assert DriverStatement.of(expanding, dialect()) is None
    plain = DriverStatement.of(_series().paged, dialect())
    assert plain is not None
    assert plain.keys == ("n", "_page_total")
    assert plain.arguments({"upto": 3, "_page_offset": 0, "_page_limit": 2}) == [3, 2, 0]
