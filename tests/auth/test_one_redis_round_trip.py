"""An authenticated request answered from the auth cache costs one Redis round trip:
the lookup and the rate-limit hit run in one script."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy import select

from torale.users.models import ApiKey


async def _calls(redis: Redis) -> dict[str, int]:
    stats = await redis.info("commandstats")
    return {name: value["calls"] for name, value in stats.items()}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        name: after[name] - before.get(name, 0)
        for name in after
        if after[name] != before.get(name, 0) and name != "cmdstat_info"
    }


async def test_a_cached_caller_is_looked_up_and_counted_in_one_round_trip(
    client, make_account, service_urls
):
    account = await make_account()
    warm = await client.get("/auth/me", headers=account.headers)  # stores the entry
    assert warm.status_code == 200
    async with Redis.from_url(service_urls.redis_url) as redis:
        before = await _calls(redis)
        response = await client.get("/api/v1/tasks", headers=account.headers)
        after = await _calls(redis)
    assert response.status_code == 200
    # One EVALSHA (lookup + count), no MGET, no separate rate-limit script. (Redis
    # also counts the commands a script runs: GET, HMGET, ... are inside that one.)
    calls = _delta(before, after)
    assert calls["cmdstat_evalsha"] == 1
    assert not {"cmdstat_mget", "cmdstat_eval", "cmdstat_set"} & calls.keys()
    remaining = int(response.headers["X-RateLimit-Remaining"])
    assert remaining == int(warm.headers["X-RateLimit-Remaining"]) - 1


async def test_the_count_in_the_lookup_refuses_past_the_limit(client, make_account, resources):
    account = await make_account()
    limit = resources.rate_limiter.limits[0].amount
    # Spend the window on the identity the cached entry names: the next request is 429.
    await client.get("/auth/me", headers=account.headers)
    async with resources.session_factory() as session:
        key_id = (
            await session.execute(select(ApiKey.id).where(ApiKey.user_id == account.user_id))
        ).scalar_one()
    for _ in range(limit):
        await resources.rate_limiter.hit(f"key:{key_id}")
    refused = await client.get("/api/v1/tasks", headers=account.headers)
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Remaining"] == "0"
