"""Reads run without a transaction and without a pre-ping; a connection a PostgreSQL
restart killed costs a read one retry, not a 503."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.helpers import pooled_backend_pid, task_body, terminate_backend


@asynccontextmanager
async def one_connection_api(settings):
    """An API whose pool holds a single connection, so the test knows which one it uses."""
    from tests.helpers import app_client

    async with app_client(settings, db_pool_size=1, db_max_overflow=0) as (app, client):
        yield app, client


@dataclass
class Sent:
    # (first word, inside a transaction) of each statement SQLAlchemy executed.
    through_sqlalchemy: list[tuple[str, bool]] = field(default_factory=list)
    # The first word of each text command the driver logged (asyncpg logs those, the
    # transaction's BEGIN/COMMIT/ROLLBACK among them), whoever asked for it.
    driver_commands: list[str] = field(default_factory=list)

    @property
    def transaction_commands(self) -> list[str]:
        return [c for c in self.driver_commands if c in ("BEGIN", "COMMIT", "ROLLBACK")]


@asynccontextmanager
async def statements_sent(engine):
    """What the engine's connections send while the block runs."""
    sent = Sent()
    logged: list[object] = []

    def record(conn, _cursor, statement, *_args) -> None:
        driver = conn.connection.dbapi_connection.driver_connection
        sent.through_sqlalchemy.append((statement.split()[0].upper(), driver.is_in_transaction()))

    def note(query) -> None:
        sent.driver_commands.append(query.query.split()[0].rstrip(";").upper())

    def watch(dbapi_connection, _record, _proxy) -> None:
        driver = dbapi_connection.driver_connection
        driver.add_query_logger(note)
        logged.append(driver)

    event.listen(engine.sync_engine, "after_cursor_execute", record)
    event.listen(engine.sync_engine, "checkout", watch)
    try:
        yield sent
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon, not at once
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", record)
        event.remove(engine.sync_engine, "checkout", watch)
        for driver in logged:
            driver.remove_query_logger(note)


async def test_reads_send_no_begin_and_writes_keep_their_transaction(
    client, make_account, resources
):
    account = await make_account()
    await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)
    await client.get("/auth/me", headers=account.headers)  # warm the auth cache
    async with statements_sent(resources.request_engine) as sent:
        listed = await client.get("/api/v1/tasks", headers=account.headers)
        queried = await client.post(
            "/graphql", json={"query": "{ tasks { total } }"}, headers=account.headers
        )
        # Through SQLAlchemy (an owner-only read of one task), autocommit too.
        one = await client.get(
            f"/api/v1/tasks/{listed.json()['items'][0]['id']}/executions", headers=account.headers
        )
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert queried.json() == {"data": {"tasks": {"total": 1}}}
    assert one.status_code == 200, one.text
    assert sent.through_sqlalchemy and not any(inside for _, inside in sent.through_sqlalchemy)
    assert sent.transaction_commands == []
    async with statements_sent(resources.request_engine) as sent:
        created = await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)
    assert created.status_code == 201, created.text
    assert any(kind == "INSERT" and inside for kind, inside in sent.through_sqlalchemy), sent
    assert sent.transaction_commands[0] == "BEGIN" and sent.transaction_commands[-1] == "COMMIT", (
        sent
    )


async def test_a_read_only_list_runs_on_the_driver_and_gives_its_connection_back(
    client, make_account, resources
):
    """A cached caller's list page never goes through SQLAlchemy's execution or the
    session's transaction (torale.driver_reads), and holds no connection once answered."""
    account = await make_account()
    for _ in range(3):
        await client.post("/api/v1/tasks", json=task_body(), headers=account.headers)
    await client.get("/auth/me", headers=account.headers)  # warm the auth cache
    began: list[Session] = []

    def note(session: Session, *_: object) -> None:
        # Requests' sessions only (background work, e.g. last-used stamps, has its own).
        if session.bind is not None and session.bind.pool is resources.request_engine.pool:
            began.append(session)

    event.listen(Session, "after_transaction_create", note)
    try:
        async with statements_sent(resources.request_engine) as sent:
            listed = await client.get("/api/v1/tasks?limit=2", headers=account.headers)
            past = await client.get("/api/v1/tasks?limit=2&page=5", headers=account.headers)
    finally:
        event.remove(Session, "after_transaction_create", note)
    assert listed.status_code == 200 and past.status_code == 200
    assert [len(listed.json()["items"]), listed.json()["total"]] == [2, 3]
    assert past.json() == {"items": [], "total": 3, "page": 5, "limit": 2}
    assert sent.through_sqlalchemy == [] and sent.transaction_commands == []
    assert "SELECT" in sent.driver_commands, sent
    assert began == []  # not even the commit's empty transaction
    assert resources.request_engine.pool.checkedout() == 0


async def _kill_pooled_connection(app, settings) -> None:
    engine = app.state.resources.request_engine  # its pool holds one connection
    await terminate_backend(settings, await pooled_backend_pid(engine))


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
