"""Notices when a transaction changes who a credential belongs to.

The auth cache must be invalidated after any commit that updates or deletes users or
API keys: a revoked key, a deactivated or re-activated user, a synced email. Rather
than trusting every such write to remember it, the session notices by itself: ORM
flushes of changed `User`/`ApiKey` rows and bulk UPDATE/DELETE statements on their
tables mark the session, and the request's unit of work invalidates the cache
(`ToraleContext.finish`). Inserts need nothing: only found identities are cached.

Changes come in two strengths. A *revocation* may take access away (a key's state or
hash, a user's state or role, any delete, any bulk statement, which is not inspected):
it must not commit unless the cache can be invalidated first, or a cached copy could
keep working. A *refresh* (a sign-in stamp, a synced email) only makes cached copies
out of date, which an invalidation after the commit settles.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from torale.users.models import ApiKey, User

_FLAG = "torale.identity_changed"
_TABLES = frozenset({User.__tablename__, ApiKey.__tablename__})
# Columns whose change can take access away from a cached credential.
_ACCESS_COLUMNS: dict[type, tuple[str, ...]] = {
    User: ("state", "role"),
    ApiKey: ("state", "key_hash", "user_id"),
}


class IdentityChange(IntEnum):
    REFRESH = 1
    REVOCATION = 2


def consume_identity_change(session: Session) -> IdentityChange | None:
    """The strongest change this session wrote to users or API keys since the last call."""
    return session.info.pop(_FLAG, None)


def _mark(session: Session, change: IdentityChange) -> None:
    session.info[_FLAG] = max(change, session.info.get(_FLAG, change))


def _strength(row: User | ApiKey) -> IdentityChange:
    state = inspect(row)
    changed = any(state.attrs[name].history.has_changes() for name in _ACCESS_COLUMNS[type(row)])
    return IdentityChange.REVOCATION if changed else IdentityChange.REFRESH


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush_context: UOWTransaction) -> None:
    # Still the pre-flush view here: `dirty`/`deleted` and attribute history hold
    # what was just written.
    for row in session.deleted:
        if isinstance(row, User | ApiKey):
            _mark(session, IdentityChange.REVOCATION)
    for row in session.dirty:
        if isinstance(row, User | ApiKey) and session.is_modified(row):
            _mark(session, _strength(row))


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table: Any = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in _TABLES:
        _mark(state.session, IdentityChange.REVOCATION)
