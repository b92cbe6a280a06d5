"""An authenticated request answered from the auth cache costs one Redis round trip:
the lookup and the rate-limit hit run in one script, on either door, with an API key
or a JWT."""

from __future__ import annotations

import uuid

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from tests.auth.oidc import jwt_settings, token
from torale.users.models import ApiKey

# What the lookup-and-count script runs inside Redis; Redis counts those too.
INSIDE_THE_SCRIPT = {"get", "hmget", "time", "hset", "hincrby", "pexpireat"}
GRAPHQL_PAGE = {"query": "{ tasks(page: 1, limit: 20) { items { id name } total } }"}


@pytest.fixture
def private_redis_url(tmp_path):
    """A Redis of this test only: its command counts are this test's requests alone."""
    from torale.devstack.redis import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis")
    yield server.start()
    server.stop()


async def _calls(redis: Redis) -> dict[str, int]:
    stats = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        name: after[name] - before.get(name, 0)
        for name in after
        if after[name] != before.get(name, 0) and name != "info"
    }


@pytest.mark.parametrize("credential", ["api key", "jwt"])
@pytest.mark.parametrize("door", ["rest", "graphql"])
async def test_a_cached_caller_is_looked_up_and_counted_in_one_round_trip(
    settings, issuer, make_account, private_redis_url, door, credential
):
    from tests.helpers import app_client

    configured = jwt_settings(settings, issuer.url + "/jwks")
    async with app_client(configured, redis_url=private_redis_url) as (_, client):
        if credential == "jwt":
            sub = f"round-trip-{uuid.uuid4().hex}"
            headers = token(sub, f"{sub}@example.com")
            assert (await client.post("/auth/sync-user", headers=headers)).status_code == 200
        else:
            headers = (await make_account()).headers

        async def request() -> httpx.Response:
            if door == "rest":
                return await client.get("/api/v1/tasks", headers=headers)
            return await client.post("/graphql", json=GRAPHQL_PAGE, headers=headers)

        warm = await request()  # a miss: the database answers, the entry is stored
        assert warm.status_code == 200 and "errors" not in warm.json(), warm.text
        async with Redis.from_url(private_redis_url) as redis:
            before = await _calls(redis)
            response = await request()
            after = await _calls(redis)
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    # One EVALSHA (lookup + count); nothing else was sent: no MGET, no SET, no second
    # script. (Redis also counts the commands a script runs: those are inside that one.)
    calls = _delta(before, after)
    assert calls.pop("evalsha") == 1
    assert set(calls) <= INSIDE_THE_SCRIPT, calls
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
