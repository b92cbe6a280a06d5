"""The per-request context every resolver receives.

Built by a FastAPI dependency for both `/graphql` and the REST handlers, so the
two paths see the same session, subject and loaders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from torale.auth.identity_changes import IdentityChange, consume_identity_change
from torale.auth.jwt import Claims
from torale.auth.subject import Subject
from torale.db import make_read_only, sent_nothing
from torale.errors import Unauthenticated
from torale.runtime import Resources


class Loaders:
    """DataLoaders, created lazily once per request (one batched query each)."""

    def __init__(self, context: ToraleContext) -> None:
        self._context = context
        # Loaders dispatch concurrently; one AsyncSession runs one query at a time.
        self._session_lock = asyncio.Lock()

    async def _batch(self, load: Callable[..., Awaitable[Any]], keys: Any) -> Any:
        async with self._session_lock:
            return await load(self._context.session, keys)

    @cached_property
    def task_name(self) -> DataLoader[Any, str | None]:
        from torale.graphql.loaders import task_names

        return DataLoader(lambda ids: self._batch(task_names, ids))

    @cached_property
    def execution(self) -> DataLoader[Any, Any]:
        from torale.graphql.loaders import executions_by_id

        return DataLoader(lambda ids: self._batch(executions_by_id, ids))

    @cached_property
    def recent_executions(self) -> DataLoader[Any, Any]:
        """Keyed by (task_id, limit)."""
        from torale.graphql.loaders import recent_executions

        return DataLoader(lambda keys: self._batch(recent_executions, keys))


class ToraleContext(BaseContext):
    def __init__(
        self,
        *,
        resources: Resources,
        session: AsyncSession,
        subject: Subject | None,
        auth_error: Unauthenticated | None = None,
        claims: Claims | None = None,
    ) -> None:
        super().__init__()
        self.resources = resources
        self.session = session
        self._subject = subject
        self._auth_error = auth_error
        # Verified identity-provider claims, when the caller used a JWT.
        self.claims = claims
        # Whether the auth cache was already invalidated for a revoking change.
        self._fenced = False

    @property
    def subject(self) -> Subject:
        """The authenticated caller; raises the 401 the request earned otherwise."""
        if self._subject is None:
            raise self._auth_error or Unauthenticated("Authorization header missing")
        return self._subject

    @property
    def subject_or_none(self) -> Subject | None:
        return self._subject

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self)

    def read_only(self) -> None:
        """This request only reads: send its statements without BEGIN and COMMIT, and
        its list pages straight to the driver (`torale.db.make_read_only`)."""
        make_read_only(self.session)

    async def start_over(self) -> None:
        """Forget what a failed attempt loaded, so a read can run once more."""
        await self._roll_back()
        self.__dict__.pop("loaders", None)

    async def _roll_back(self) -> None:
        await self.session.rollback()
        consume_identity_change(self.session.sync_session)  # rolled back: nothing to tell

    async def fence_identity_change(self) -> None:
        """Invalidate cached credentials before a change that may take access away.

        `finish` does it by itself before committing such a change; a resolver calls it
        earlier when it is about to act outside the database (e.g. pause schedules), so
        an unreachable cache refuses the request before anything happened anywhere.
        Raises `Unavailable` (nothing changed) when the cache cannot be invalidated.
        """
        cache = self.resources.auth_cache
        if cache is not None and not self._fenced:
            await cache.invalidate_before_commit()
            self._fenced = True

    async def finish(self, *, succeeded: bool) -> None:
        """Commit (then run deferred jobs) or roll back: the request's unit of work."""
        if sent_nothing(self.session):
            # Nothing to commit or roll back: a read-only request that read through the
            # driver or from caches never began a transaction (identity changes are
            # only noted by flushes and statements, which begin one).
            return
        if not succeeded:
            await self._roll_back()
            return
        # Flushed now, so every change is known before the commit, not during it.
        await self.session.flush()
        change = consume_identity_change(self.session.sync_session)
        if change is IdentityChange.REVOCATION:
            try:
                await self.fence_identity_change()
            except Exception:
                await self._roll_back()
                raise
        await self.session.commit()
        if change is not None and self.resources.auth_cache:
            await self.resources.auth_cache.invalidate()
