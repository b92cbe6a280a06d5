"""Process-wide resources one API process shares across requests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from torale.auth.last_used import LastUsedBuffer
from torale.config import Settings
from torale.scheduling.connection import TemporalConnection

if TYPE_CHECKING:
    import httpx
    from redis.asyncio import Redis

    from torale.auth.cache import AuthCache
    from torale.auth.jwt import JWTVerifier
    from torale.ratelimit import RateLimiter
    from torale.scheduling.scheduler import TaskScheduler


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: Redis
    # Made on first use (see `TemporalConnection`): most requests never need Temporal.
    temporal: TemporalConnection
    # JWT's key fetches; None when JWT is off (then nothing in the API sends HTTP).
    http: httpx.AsyncClient | None
    rate_limiter: RateLimiter
    key_creation_limiter: RateLimiter
    # `/graphql` calls without a usable credential, counted per client address.
    anonymous_graphql_limiter: RateLimiter
    # Puts a delivery's message on the notification queue: (delivery id, token).
    enqueue_delivery: Callable[[uuid.UUID, int], Awaitable[None]]
    jwt: JWTVerifier | None = None
    auth_cache: AuthCache | None = None
    last_used: LastUsedBuffer = field(default_factory=LastUsedBuffer)
    # The sessions of API requests, on an engine without pre-ping (see `db.create_engine`);
    # None: requests use `session_factory` too.
    request_engine: AsyncEngine | None = None
    request_sessions: async_sessionmaker[AsyncSession] | None = None

    @cached_property
    def scheduler(self) -> TaskScheduler:
        # Imported here: the first request that needs Temporal loads the SDK.
        from torale.scheduling.scheduler import TaskScheduler

        return TaskScheduler(self.temporal, self.settings.temporal_task_queue)

    def sessions_for_requests(self) -> async_sessionmaker[AsyncSession]:
        return self.request_sessions or self.session_factory
