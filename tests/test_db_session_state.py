"""`sent_nothing` and `holds_nothing` answer what a session would send or release, for
every state a request's session can be in."""

from __future__ import annotations

from sqlalchemy import select

from torale.db import create_engine, holds_nothing, sent_nothing, session_factory
from torale.users.models import User


def _state(session) -> tuple[bool, bool]:
    return sent_nothing(session), holds_nothing(session)


async def test_each_state_of_a_session(settings) -> None:
    engine = create_engine(settings)
    factory = session_factory(engine)
    try:
        async with factory() as session:
            assert _state(session) == (True, True)  # a read-only request's session
            user = User(email="state@example.com")
            session.add(user)
            assert _state(session) == (False, False)  # pending
            await session.commit()
            assert _state(session) == (True, False)  # loaded, unchanged, no transaction
            user.email = "changed@example.com"
            assert _state(session) == (False, False)  # dirty
            await session.commit()
            await session.delete(user)
            assert _state(session) == (False, False)  # deleted, in a transaction
            await session.rollback()
            session.expunge_all()
            assert _state(session) == (True, True)
        async with factory() as session:
            found = (await session.execute(select(User.id))).first()
            assert found is not None
            assert _state(session) == (False, False)  # a transaction begun, nothing loaded
            await session.rollback()
            assert _state(session) == (True, True)
            loaded = (await session.execute(select(User))).scalar_one()
            await session.commit()
            session.sync_session.delete(loaded)  # marked outside any transaction yet
            assert _state(session) == (False, False)
    finally:
        await engine.dispose()
