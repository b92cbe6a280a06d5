"""Notices when a transaction changes who a credential belongs to.

The auth cache must be invalidated after any commit that updates or deletes users or
API keys: a revoked key, a deactivated or re-activated user, a synced email. Rather
than trusting every such write to remember it, the session notices by itself: ORM
flushes of changed `User`/`ApiKey` rows and bulk UPDATE/DELETE statements on their
tables mark the session, and the request's unit of work bumps the cache epoch after
it commits (`ToraleContext.finish`). Inserts need nothing: only found identities are
cached.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from torale.users.models import ApiKey, User

_FLAG = "torale.identity_changed"
_TABLES = frozenset({User.__tablename__, ApiKey.__tablename__})


def consume_identity_change(session: Session) -> bool:
    """Whether this session wrote to users or API keys since the last call (and reset)."""
    return bool(session.info.pop(_FLAG, False))


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush_context: UOWTransaction) -> None:
    # Still the pre-flush view here: `dirty`/`deleted` hold what was just written.
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, User | ApiKey):
            session.info[_FLAG] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table: Any = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in _TABLES:
        state.session.info[_FLAG] = True
