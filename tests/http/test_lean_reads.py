"""Reads run without a transaction and without a pre-ping; a connection a PostgreSQL
restart killed costs a read one retry, not a 503."""

from __future__ import annotations

from contextlib import asynccontextmanager

from sqlalchemy import event, text

from tests.helpers import task_body
from torale.db import create_engine


@asynccontextmanager
async def one_connection_api(settings):
    """An API whose pool holds a single connection, so the test knows which one it uses."""
    from tests.helpers import app_client

    async with app_client(settings, db_pool_size=1, db_max_overflow=0) as (app, client):
        yield app, client


@asynccontextmanager
async def in_transaction_per_statement(engine):
    """For each statement the engine sends: was the connection inside a transaction?"""
    seen: list[tuple[str, bool]] = []

    def record(conn, _cursor, statement, *_args) -> None:
        driver = conn.connection.dbapi_connection.driver_connection
        seen.append((statement.split()[0].upper(), driver.is_in_transaction()))

    event.listen(engine.sync_engine, "after_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", record)


async def test_reads_send_no_begin_and_writes_keep_their_transaction(
    client, make_account, resources
):
    account = await make_account()
    await client.get("/auth/me", headers=account.headers)  # warm the auth cache
    async with in_transaction_per_statement(resources.request_engine) as seen:
        listed = await client.get("/api/v1/tasks", headers=account.headers)
        queried = await client.post(
            "/graphql", json={"query": "{ tasks { total } }"}, headers=account.headers
        )
    assert listed.status_code == 200 and queried.json() == {"data": {"tasks": {"total": 0}}}
    assert seen and not any(inside for _, inside in seen), seen
    async with in_transaction_per_statement(resources.request_engine) as seen:
        created = await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)
    assert created.status_code == 201, created.text
    assert any(kind == "INSERT" and inside for kind, inside in seen), seen


async def _kill_pooled_connection(app, settings) -> None:
    engine = app.state.resources.request_engine
    async with engine.connect() as conn:  # the pool's only connection
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    admin = create_engine(settings)
    try:
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_a_read_on_a_killed_connection_is_retried_once(settings, make_account):
    account = await make_account()
    async with one_connection_api(settings) as (app, client):
        assert (await client.get("/api/v1/tasks", headers=account.headers)).status_code == 200
        # Authenticated from the cache: the killed connection is met by the operation.
        await _kill_pooled_connection(app, settings)
        listed = await client.get("/api/v1/tasks", headers=account.headers)
        assert listed.status_code == 200, listed.text
        await _kill_pooled_connection(app, settings)
        queried = await client.post(
            "/graphql", json={"query": "{ tasks { total } }"}, headers=account.headers
        )
        assert queried.json() == {"data": {"tasks": {"total": 0}}}
        # A caller not cached yet: the killed connection is met by the key lookup.
        other = await make_account()
        await _kill_pooled_connection(app, settings)
        assert (await client.get("/auth/me", headers=other.headers)).status_code == 200
