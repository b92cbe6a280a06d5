"""Process-wide resources one API process shares across requests."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from torale.auth.last_used import LastUsedBuffer
from torale.config import Settings
from torale.scheduling.scheduler import TaskScheduler

if TYPE_CHECKING:
    import httpx
    from redis.asyncio import Redis
    from temporalio.client import Client as TemporalClient

    from torale.auth.cache import AuthCache
    from torale.auth.jwt import JWTVerifier
    from torale.ratelimit import RateLimiter


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: Redis
    temporal: TemporalClient
    scheduler: TaskScheduler
    http: httpx.AsyncClient
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

    def sessions_for_requests(self) -> async_sessionmaker[AsyncSession]:
        return self.request_sessions or self.session_factory
