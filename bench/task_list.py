"""Throughput of the authenticated task list: REST vs /graphql vs a bare handler.

    DATABASE_URL=... REDIS_URL=... python bench/task_list.py [--requests N]

Without DATABASE_URL / REDIS_URL the embedded servers are started in a temporary
directory. Everything runs in one process through ASGI (no sockets), so the figures
compare the layers, not the network; they are printed as ratios against the bare
Starlette + asyncpg handler running the same page query and count, measured in the
same run (the machines are shared and noisy: compare ratios, not absolute numbers).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import orjson
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

PAGE_SQL = """
SELECT id, user_id, name, search_query, condition_description, schedule, timezone,
       notify_behavior, executor_type, config, notifications, state, condition_met,
       last_known_state, last_notified_at, last_execution_id, is_public, view_count,
       subscriber_count, forked_from_task_id, created_at, updated_at, state_changed_at
FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 20 OFFSET 0
"""
COUNT_SQL = "SELECT count(*) FROM tasks WHERE user_id = $1"
GRAPHQL = """query { tasks(page: 1, limit: 20) { items { id user_id name search_query
  condition_description schedule timezone notify_behavior executor_type config notifications
  state condition_met last_known_state last_notified_at last_execution_id next_run_at is_public
  view_count subscriber_count forked_from_task_id created_at updated_at state_changed_at }
  total page limit } }"""


def bare_app(pool: asyncpg.Pool, user_id: uuid.UUID) -> Starlette:
    async def tasks(_request) -> Response:
        async with pool.acquire() as conn:
            rows = await conn.fetch(PAGE_SQL, user_id)
            total = await conn.fetchval(COUNT_SQL, user_id)
        items = [
            {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in r.items()} for r in rows
        ]
        return Response(
            orjson.dumps({"items": items, "total": total, "page": 1, "limit": 20}),
            media_type="application/json",
        )

    return Starlette(routes=[Route("/tasks", tasks)])


async def measure(client: httpx.AsyncClient, send, requests: int, concurrency: int = 8):
    latencies: list[float] = []

    async def worker(n: int) -> None:
        for _ in range(n):
            start = time.perf_counter()
            response = await send(client)
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text

    for _ in range(3):  # warm-up
        await send(client)
    began = time.perf_counter()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(len(latencies) * 0.99) - 1]


async def main(requests: int) -> None:
    from torale.app import create_app
    from torale.config import Settings
    from torale.db import migrate, unit_of_work
    from torale.users import service

    started = []
    root = Path(tempfile.mkdtemp(prefix="torale-bench-"))
    db_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not db_url:
        from torale.devstack.postgres import EmbeddedPostgres

        started.append(EmbeddedPostgres(root / "pg"))
        db_url = started[-1].start()
    if not redis_url:
        from torale.devstack.redis import EmbeddedRedis

        started.append(EmbeddedRedis(root / "redis"))
        redis_url = started[-1].start()
    migrate(db_url)
    settings = Settings(
        database_url=db_url,
        redis_url=redis_url,
        temporal_address="127.0.0.1:1",
        rate_limits="1000000/minute",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        res = app.state.resources
        async with unit_of_work(res.session_factory) as session:
            user = await service.ensure_user(session, f"bench-{uuid.uuid4().hex[:6]}@example.com")
            key = (await service.create_api_key(session, user, "bench")).plain_key
        pool = await asyncpg.create_pool(db_url, min_size=2, max_size=10)
        await pool.executemany(
            "INSERT INTO tasks (id, user_id, name, search_query, condition_description, "
            "schedule, timezone, notify_behavior, executor_type, state) VALUES "
            "($1, $2, $3, 'What is the price of the thing today?', "
            "'The price is below 100 dollars', '0 9 * * *', 'UTC', 'once', "
            "'llm_grounded_search', 'active')",
            [(uuid.uuid4(), user.id, f"task {i}") for i in range(20)],
        )
        headers = {"Authorization": f"Bearer {key}"}

        def client_for(asgi) -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://b")

        async with client_for(bare_app(pool, user.id)) as bare, client_for(app) as api:
            runs = {
                "bare": await measure(bare, lambda c: c.get("/tasks"), requests),
                "rest": await measure(
                    api, lambda c: c.get("/api/v1/tasks", headers=headers), requests
                ),
                "graphql": await measure(
                    api,
                    lambda c: c.post("/graphql", json={"query": GRAPHQL}, headers=headers),
                    requests,
                ),
            }
        await pool.close()
    base_rps, base_p99 = runs["bare"]
    for name, (rps, p99) in runs.items():
        print(
            f"{name:8} {rps:8.0f} req/s  p99 {p99 * 1000:6.1f} ms  "
            f"throughput {rps / base_rps:4.2f}x of bare  p99 {p99 / base_p99:4.2f}x of bare"
        )
    print(f"rest/graphql throughput: {runs['rest'][0] / runs['graphql'][0]:.2f}")
    for server in reversed(started):
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=800)
    asyncio.run(main(parser.parse_args().requests))
