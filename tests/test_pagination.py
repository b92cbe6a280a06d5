"""Lists paged by `torale.pagination.fetch_page`: the total is right on every page,
including a page past the end, where no row carries the window total."""

from __future__ import annotations


async def test_api_keys_total_on_every_page_and_past_the_end(client, make_account):
    account = await make_account()
    for name in ("second", "third"):
        created = await client.post("/auth/api-keys", json={"name": name}, headers=account.headers)
        assert created.status_code == 201, created.text

    async def page(number: int) -> dict:
        response = await client.get(
            f"/auth/api-keys?limit=2&page={number}", headers=account.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    first, second, past = await page(1), await page(2), await page(3)
    assert [k["name"] for k in first["items"] + second["items"]] == ["third", "second", "test"]
    assert (first["total"], second["total"]) == (3, 3)
    assert past["items"] == [] and past["total"] == 3
    assert (past["page"], past["limit"]) == (3, 2)


async def test_admin_users_past_the_end_keeps_the_total(client, make_account):
    admin = await make_account(admin=True)
    await make_account()
    await make_account()

    response = await client.get("/admin/users?limit=2&page=7", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "total": 3, "page": 7, "limit": 2}


async def test_page_rows_are_records_of_the_selected_columns(database_url):
    """Rows come back as named tuples of the selected columns (a list page reads every
    column by name; a record's attribute is far cheaper than a SQLAlchemy Row's), the
    window total left out; a column no record can be named after keeps its Row."""
    from sqlalchemy import literal, select
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from torale.pagination import PageRequest, fetch_page

    engine = create_async_engine(database_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with AsyncSession(engine) as session:
            rows, total = await fetch_page(
                session,
                select(literal(7).label("id"), literal("x").label("count")),
                PageRequest(1, 20),
            )
            assert total == 1
            [row] = rows
            assert (row.id, row.count) == (7, "x")
            assert tuple(row) == (7, "x") and row._fields == ("id", "count")

            odd, _ = await fetch_page(
                session, select(literal(1).label("class")), PageRequest(1, 20)
            )
            assert odd[0]._mapping["class"] == 1  # a Row, as SQLAlchemy gives it
    finally:
        await engine.dispose()


async def test_a_prepared_list_query_is_one_statement_for_every_page(database_url):
    """`PagedQuery`: page bounds and the caller's values are bind parameters, so the
    same statement object serves every request (SQLAlchemy prepares it once), and the
    total is right on every page, past the end too."""
    from sqlalchemy import bindparam, column, select, text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from torale.pagination import PagedQuery, PageRequest, fetch_page

    n = column("n")
    query = PagedQuery(
        select(n)
        .select_from(text("generate_series(1, 10) AS n"))
        .where(n <= bindparam("upto"))
        .order_by(n)
    )
    statement = query.paged
    engine = create_async_engine(database_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with AsyncSession(engine) as session:

            async def page(number: int, upto: int) -> tuple[list[int], int]:
                rows, total = await fetch_page(
                    session, query, PageRequest(number, 3), {"upto": upto}
                )
                return [row.n for row in rows], total

            assert await page(1, 7) == ([1, 2, 3], 7)
            assert await page(3, 7) == ([7], 7)
            assert await page(2, 4) == ([4], 4)
            assert await page(9, 4) == ([], 4)  # past the end: counted with the same values
            assert query.paged is statement
    finally:
        await engine.dispose()


async def test_a_prepared_query_of_table_columns_sees_what_the_session_has_pending(
    database_url,
):
    """Table columns run as Core on the session's connection, ORM entities through the
    session; either way what the session holds unflushed is flushed first and found."""
    import uuid

    from sqlalchemy import bindparam, select
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from torale.pagination import PagedQuery, PageRequest, fetch_page
    from torale.users.models import User

    columns = PagedQuery(select(*User.__table__.columns).where(User.email == bindparam("e")))
    entities = PagedQuery(select(User).where(User.email == bindparam("e")))
    assert columns.core and not entities.core
    email = f"pending-{uuid.uuid4().hex[:8]}@example.com"
    engine = create_async_engine(database_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with AsyncSession(engine) as session:
            session.add(User(email=email))
            rows, total = await fetch_page(session, columns, PageRequest(1, 20), {"e": email})
            assert (total, rows[0].email) == (1, email)
            rows, total = await fetch_page(session, entities, PageRequest(1, 20), {"e": email})
            assert (total, rows[0][0].email) == (1, email)
            await session.rollback()
    finally:
        await engine.dispose()
