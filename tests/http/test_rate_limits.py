"""Rate limits as clients see them: headers on every authenticated answer, 429s, shared counters."""

from __future__ import annotations

import logging
import time

from tests.helpers import app_client


async def test_the_101st_request_in_a_minute_is_refused(client, make_account):
    account = await make_account()
    for n in range(1, 101):
        response = await client.get("/auth/me", headers=account.headers)
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "100"
        assert response.headers["X-RateLimit-Remaining"] == str(100 - n)
        reset = int(response.headers["X-RateLimit-Reset"])
        assert time.time() < reset <= time.time() + 61
    refused = await client.get("/auth/me", headers=account.headers)
    assert refused.status_code == 429
    body = refused.json()
    assert body["detail"] == "Rate limit exceeded"
    assert 1 <= body["retry_after"] <= 60
    assert refused.headers["Retry-After"] == str(body["retry_after"])
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    # Another key of another user is counted on its own.
    other = await make_account()
    assert (await client.get("/auth/me", headers=other.headers)).status_code == 200


async def test_headers_on_graphql_and_on_errors(client, make_account):
    account = await make_account()
    gql = await client.post("/graphql", json={"query": "{ me { id } }"}, headers=account.headers)
    assert gql.headers["X-RateLimit-Remaining"] == "99"
    missing = await client.get(
        "/api/v1/tasks/00000000-0000-0000-0000-000000000000", headers=account.headers
    )
    assert missing.status_code == 404 and missing.headers["X-RateLimit-Remaining"] == "98"
    assert "X-RateLimit-Limit" not in (await client.get("/health")).headers


async def test_hour_and_day_windows(settings, make_account):
    async with app_client(settings, rate_limits="1000/minute;3/hour;5/day") as (_, http):
        account = await make_account()
        limits = []
        for _ in range(3):
            response = await http.get("/auth/me", headers=account.headers)
            limits.append(response.headers["X-RateLimit-Limit"])
        assert limits == ["3", "3", "3"]
        refused = await http.get("/auth/me", headers=account.headers)
        assert refused.status_code == 429
        assert refused.json()["retry_after"] > 60  # waits for the hour window
    async with app_client(settings, rate_limits="1000/minute;2/day") as (_, http):
        account = await make_account()
        await http.get("/auth/me", headers=account.headers)
        await http.get("/auth/me", headers=account.headers)
        refused = await http.get("/auth/me", headers=account.headers)
        assert refused.status_code == 429 and refused.json()["retry_after"] > 3600


async def test_two_api_processes_share_the_counters(settings, make_account):
    async with (
        app_client(settings, rate_limits="4/minute") as (_, first),
        app_client(settings, rate_limits="4/minute") as (_, second),
    ):
        account = await make_account()
        remaining = []
        for http in (first, second, first, second):
            response = await http.get("/auth/me", headers=account.headers)
            remaining.append(response.headers["X-RateLimit-Remaining"])
        assert remaining == ["3", "2", "1", "0"]
        assert (await second.get("/auth/me", headers=account.headers)).status_code == 429
        assert (await first.get("/auth/me", headers=account.headers)).status_code == 429


async def test_redis_stopped_fails_open_and_logs(settings, make_account, caplog, tmp_path):
    from torale.devstack.redis import EmbeddedRedis

    redis = EmbeddedRedis(tmp_path / "redis")
    url = redis.start()
    try:
        async with app_client(settings, redis_url=url, rate_limits="100/minute") as (app, http):
            account = await make_account()
            counted = await http.get("/auth/me", headers=account.headers)
            assert counted.headers["X-RateLimit-Remaining"] == "99"
            redis.stop()
            limiter = app.state.resources.rate_limiter
            with caplog.at_level(logging.WARNING):
                for _ in range(2):
                    response = await http.get("/auth/me", headers=account.headers)
                    assert response.status_code == 200
            assert limiter.failures == 2
            assert any("rate limit" in r.getMessage().lower() for r in caplog.records)
    finally:
        redis.stop()


async def test_redis_down_can_fail_closed(settings, make_account):
    async with app_client(settings) as (app, http):
        from torale.ratelimit import RateLimiter, redis_client

        res = app.state.resources
        res.rate_limiter = RateLimiter(
            redis_client("redis://127.0.0.1:1/0"), "100/minute", fail_closed=True
        )
        account = await make_account()
        response = await http.get("/auth/me", headers=account.headers)
        assert response.status_code == 503
        await res.rate_limiter.aclose()


async def test_api_key_creation_has_its_own_limit(settings, make_account):
    async with app_client(settings, api_key_creation_rate_limits="3/hour") as (_, http):
        account = await make_account()
        codes = [
            (
                await http.post("/auth/api-keys", json={"name": f"k{i}"}, headers=account.headers)
            ).status_code
            for i in range(4)
        ]
        assert codes == [201, 201, 201, 429]
        keys = (await http.get("/auth/api-keys", headers=account.headers)).json()
        assert keys["total"] == 4  # the three new ones and the account's first key
