"""The baseline: Starlette + asyncpg serving the same task page as torale, nothing else.

    BENCH_DATABASE_URL=postgresql://... uvicorn --factory bare_app:create_app

It does the work any implementation of `GET /api/v1/tasks` must do: look the API key
up (hashed, refusing revoked keys and deactivated users), read the page and count the
user's tasks, and write JSON. No framework beyond routing, no ORM, no cache, no rate
limit, no access log: the floor the real API is compared against.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from contextlib import asynccontextmanager

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

KEY_SQL = """
SELECT k.user_id FROM api_keys k JOIN users u ON u.id = k.user_id
WHERE k.key_hash = $1 AND k.state = 'active' AND u.state = 'active'
"""
PAGE_SQL = """
SELECT id, user_id, name, search_query, condition_description, schedule, timezone,
       notify_behavior, executor_type, config, notifications, state, condition_met,
       last_known_state, last_notified_at, last_execution_id, is_public, view_count,
       subscriber_count, forked_from_task_id, created_at, updated_at, state_changed_at
FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3
"""
COUNT_SQL = "SELECT count(*) FROM tasks WHERE user_id = $1"
UNAUTHORIZED = Response(b'{"detail":"Invalid API key"}', 401, media_type="application/json")


def _plain(value: object) -> object:
    return str(value) if isinstance(value, uuid.UUID) else value


def create_app() -> Starlette:
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(_app: Starlette):
        nonlocal pool
        url = os.environ["BENCH_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
        pool = await asyncpg.create_pool(url, min_size=2, max_size=10)
        try:
            yield
        finally:
            await pool.close()

    async def tasks(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return UNAUTHORIZED
        key_hash = hashlib.sha256(token.encode()).hexdigest()
        limit = 20
        assert pool is not None
        async with pool.acquire() as conn:
            user_id = await conn.fetchval(KEY_SQL, key_hash)
            if user_id is None:
                return UNAUTHORIZED
            rows = await conn.fetch(PAGE_SQL, user_id, limit, 0)
            total = await conn.fetchval(COUNT_SQL, user_id)
        items = [{k: _plain(v) for k, v in row.items()} for row in rows]
        body = {"items": items, "total": total, "page": 1, "limit": limit}
        return Response(orjson.dumps(body), media_type="application/json")

    async def health(_request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(
        routes=[Route("/api/v1/tasks", tasks), Route("/health", health)], lifespan=lifespan
    )
