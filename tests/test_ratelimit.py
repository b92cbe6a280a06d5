"""Rate limits against the real Redis; each test uses its own key namespace."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.helpers import silent_redis
from torale.errors import RateLimited, Unavailable
from torale.ratelimit import (
    API_KEY_CREATION_LIMITS,
    LuaScript,
    RateLimiter,
    RateLimitResult,
    headers,
    parse_limits,
    redis_client,
)


class CountingConnection(aioredis.Connection):
    """Counts what actually goes over the wire: packets sent and the command in each."""

    sends = 0
    commands: list[str] = []

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sends += 1
        # `*<n>\r\n$<len>\r\n<name>\r\n...`, however it was packed.
        sent = command if isinstance(command, bytes) else b"".join(command)
        type(self).commands.append(sent.split(b"\r\n")[2].decode().upper())
        await super().send_packed_command(command, check_health)


@pytest.fixture(scope="module")
def redis_url(service_urls: Any) -> str:
    return service_urls.redis_url


@pytest.fixture
async def namespace(redis_url: str) -> AsyncIterator[str]:
    ns = f"test-rl:{uuid.uuid4().hex}"
    yield ns
    client = aioredis.Redis.from_url(redis_url)
    keys = [k async for k in client.scan_iter(match=f"{ns}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def make_limiter(redis_url: str, namespace: str) -> AsyncIterator[Any]:
    made: list[RateLimiter] = []

    def make(limits: str = "100/minute;1000/hour;10000/day", **kwargs: Any) -> RateLimiter:
        kwargs.setdefault("namespace", namespace)
        limiter = RateLimiter(redis_client(redis_url), limits, **kwargs)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.aclose()


async def test_101st_request_in_a_minute_is_refused(make_limiter: Any) -> None:
    limiter = make_limiter()
    before = int(time.time())
    results = [await limiter.hit("key-1") for _ in range(100)]
    assert all(r.allowed for r in results)
    assert [r.remaining for r in results] == list(range(99, -1, -1))
    assert {r.limit for r in results} == {100}  # the minute window is the tightest

    first = headers(results[0])
    assert first["X-RateLimit-Limit"] == "100"
    assert first["X-RateLimit-Remaining"] == "99"
    assert before + 59 <= int(first["X-RateLimit-Reset"]) <= before + 61

    refused = await limiter.hit("key-1")
    assert not refused.allowed
    assert headers(refused) == {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": first["X-RateLimit-Reset"],
    }
    assert 55 <= refused.retry_after <= 60

    with pytest.raises(RateLimited) as info:
        refused.raise_for_limit()
    assert info.value.status_code == 429
    assert info.value.body() == {
        "detail": "Rate limit exceeded",
        "retry_after": refused.retry_after,
    }
    assert info.value.headers() == {"Retry-After": str(refused.retry_after)}

    # Another key has its own counters.
    assert (await limiter.hit("key-2")).remaining == 99


async def test_hour_window_with_small_limit(make_limiter: Any) -> None:
    limiter = make_limiter("100/minute;3/hour;10000/day")
    results = [await limiter.hit("k") for _ in range(3)]
    assert [(r.limit, r.remaining) for r in results] == [(3, 2), (3, 1), (3, 0)]
    refused = await limiter.hit("k")
    assert (refused.allowed, refused.limit, refused.remaining) == (False, 3, 0)
    assert 3500 < refused.retry_after <= 3600


async def test_day_window_with_small_limit(make_limiter: Any, redis_url: str) -> None:
    limiter = make_limiter("100/minute;1000/hour;2/day")
    assert (await limiter.hit("k")).allowed
    assert (await limiter.hit("k")).allowed
    refused = await limiter.hit("k")
    assert (refused.allowed, refused.limit) == (False, 2)
    assert 86000 < refused.retry_after <= 86400
    # A refused request spends nothing in the other windows.
    client = aioredis.Redis.from_url(redis_url)
    minute_key, hour_key, _ = limiter.keys_for("k")
    assert await client.hget(minute_key, "n") == b"2"
    assert await client.hget(hour_key, "n") == b"2"
    await client.aclose()


async def test_tightest_window_is_reported(make_limiter: Any) -> None:
    limiter = make_limiter("5/minute;3/hour")
    result = await limiter.hit("k")
    assert (result.limit, result.remaining) == (3, 2)


async def test_window_starts_over(make_limiter: Any) -> None:
    limiter = make_limiter("2/second")
    assert (await limiter.hit("k")).allowed
    assert (await limiter.hit("k")).allowed
    assert not (await limiter.hit("k")).allowed
    await asyncio.sleep(1.05)
    assert (await limiter.hit("k")).allowed


async def test_two_replicas_share_counters(make_limiter: Any) -> None:
    # Two limiters with their own connection pools: two API processes.
    replica_a = make_limiter("5/minute")
    replica_b = make_limiter("5/minute")
    for _ in range(3):
        assert (await replica_a.hit("shared")).allowed
    assert (await replica_b.hit("shared")).remaining == 1
    assert (await replica_b.hit("shared")).remaining == 0
    assert not (await replica_a.hit("shared")).allowed
    assert not (await replica_b.hit("shared")).allowed


async def test_concurrent_hits_are_atomic(make_limiter: Any) -> None:
    limiter = make_limiter("20/minute")
    results = await asyncio.gather(*(limiter.hit("k") for _ in range(60)))
    assert sum(r.allowed for r in results) == 20


async def test_one_redis_round_trip_per_hit(redis_url: str, namespace: str) -> None:
    pool = aioredis.ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
    limiter = RateLimiter(aioredis.Redis.from_pool(pool), namespace=namespace)
    await limiter.hit("warm-up")  # connection handshake and, maybe, SCRIPT LOAD
    CountingConnection.sends = 0
    CountingConnection.commands = []
    for i in range(10):
        await limiter.hit(f"id-{i % 3}")
    assert CountingConnection.sends == 10
    assert CountingConnection.commands == ["EVALSHA"] * 10
    await limiter.aclose()


async def test_api_key_creation_limiter_has_its_own_namespace(
    make_limiter: Any, namespace: str
) -> None:
    requests = make_limiter("100/minute")
    key_creation = make_limiter(API_KEY_CREATION_LIMITS, namespace=f"{namespace}:apikey-create")
    for _ in range(10):
        assert (await key_creation.hit("user-1")).allowed
    refused = await key_creation.hit("user-1")
    assert (refused.allowed, refused.limit) == (False, 10)
    assert (await requests.hit("user-1")).remaining == 99
    with pytest.raises(RateLimited):
        await key_creation.hit_or_raise("user-1")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_redis_unreachable_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter(redis_client(f"redis://127.0.0.1:{closed_port()}/4"), "100/minute")
    with caplog.at_level(logging.WARNING, logger="torale.ratelimit"):
        started = time.monotonic()
        result = await limiter.hit("k")
        second = await limiter.hit("k")
    assert time.monotonic() - started < 2
    assert isinstance(result, RateLimitResult)
    assert result.allowed and result.degraded and second.allowed
    assert limiter.failures == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # logged once per interval, counted every time
    assert "cannot reach Redis" in warnings[0].getMessage()
    assert headers(result)["X-RateLimit-Limit"] == "100"
    await limiter.aclose()


async def test_redis_unreachable_fail_closed() -> None:
    limiter = RateLimiter(
        redis_client(f"redis://127.0.0.1:{closed_port()}/4"), "100/minute", fail_closed=True
    )
    with pytest.raises(Unavailable) as info:
        await limiter.hit("k")
    assert info.value.status_code == 503
    assert limiter.failures == 1
    await limiter.aclose()


def test_limit_strings_are_validated() -> None:
    assert [i.amount for i in parse_limits("100/minute;1000/hour;10000/day")] == [100, 1000, 10000]
    with pytest.raises(ValueError, match="Invalid rate limit 'lots'"):
        parse_limits("lots")
    with pytest.raises(ValueError, match="amounts must be at least 1"):
        parse_limits("0/minute")


async def test_every_response_of_a_window_reports_the_same_reset(make_limiter: Any) -> None:
    """The reset is stored when the window opens, not recomputed (no 1-second jitter)."""
    limiter = make_limiter("1000/minute")
    resets = {(await limiter.hit("steady")).reset_epoch for _ in range(200)}
    assert len(resets) == 1


# --- the one command of every request (`LuaScript`)


@pytest.fixture
def private_redis_url(tmp_path: Any) -> Iterator[str]:
    """A Redis of this test only: it may flush scripts and kill clients."""
    from torale.devstack.redis import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis")
    yield server.start()
    server.stop()


async def test_a_script_redis_lost_is_loaded_again(private_redis_url: str) -> None:
    limiter = RateLimiter(redis_client(private_redis_url), "100/minute")
    assert (await limiter.hit("k")).remaining == 99
    async with aioredis.Redis.from_url(private_redis_url) as admin:
        await admin.script_flush()  # what a restart without the script looks like
    again = await limiter.hit("k")
    assert (again.remaining, again.degraded, limiter.failures) == (98, False, 0)
    await limiter.aclose()


async def test_a_connection_redis_dropped_costs_no_request(private_redis_url: str) -> None:
    limiter = RateLimiter(redis_client(private_redis_url), "100/minute")
    await limiter.hit("k")
    async with aioredis.Redis.from_url(private_redis_url) as admin:
        assert await admin.client_kill_filter(_type="normal", skipme=True) >= 1
    again = await limiter.hit("k")  # sent on the dead connection, then once more
    assert (again.remaining, again.degraded, limiter.failures) == (98, False, 0)
    await limiter.aclose()


async def test_a_command_that_times_out_is_tried_once_more(private_redis_url: str) -> None:
    # As a socket timeout and the client's one retry did: Redis answers the second try.
    client = redis_client(private_redis_url)
    script = LuaScript(client, "return 7", timeout=1.0)
    assert await script((), ()) == 7
    async with aioredis.Redis.from_url(private_redis_url) as admin:
        await admin.client_pause(1500)  # the first try gives up after 1 s, the second waits
        started = time.monotonic()
        assert await script((), ()) == 7
    assert time.monotonic() - started > 1.0
    await client.aclose()


async def test_a_redis_that_hangs_costs_a_request_at_most_the_timeout() -> None:
    # The client has no socket timeout (`redis_client`): the script call bounds itself.
    async with silent_redis() as url:
        limiter = RateLimiter(redis_client(url), "100/minute")
        started = time.monotonic()
        result = await limiter.hit("k")
        assert time.monotonic() - started < 3  # two attempts of REDIS_TIMEOUT
        assert result.allowed and result.degraded and limiter.failures == 1
        closed = RateLimiter(redis_client(url), "100/minute", fail_closed=True)
        with pytest.raises(Unavailable):
            await closed.hit("k")
        for made in (limiter, closed):
            await made.aclose()


def _reference_result(
    limiter: RateLimiter, raw: list[int], cost: int
) -> tuple[bool, int, int, int, int]:
    """What a hit reports, written plainly: the rule `result_of` must keep."""
    n = len(limiter.limits)
    allowed, counts, resets, now = raw[0] == 1, raw[1 : 1 + n], raw[1 + n : 1 + 2 * n], raw[-1]
    windows = [
        (item.amount, max(item.amount - count, 0), reset)
        for item, count, reset in zip(limiter.limits, counts, resets, strict=True)
    ]
    if allowed:
        limit, remaining, reset = min(windows, key=lambda w: (w[1], -w[2]))
        return True, limit, remaining, math.ceil(reset / 1000), 0
    exhausted = [w for w, c in zip(windows, counts, strict=True) if c + cost > w[0]]
    limit, _, reset = max(exhausted, key=lambda w: w[2])
    return False, limit, 0, math.ceil(reset / 1000), max(1, math.ceil((reset - now) / 1000))


def test_the_reported_window_follows_the_rule_for_any_counts(redis_url: str) -> None:
    limiter = RateLimiter(redis_client(redis_url), "5/minute;5/hour;20/day")
    rng = random.Random(7)
    now = 1_764_590_400_123
    for _ in range(5000):
        cost = rng.choice((1, 1, 2, 5))
        counts = [rng.randint(0, 25) for _ in limiter.limits]
        # Ties on purpose: equal remaining, equal resets.
        resets = [now + rng.choice((1, 999, 1000, 60_000, 3_600_000)) for _ in limiter.limits]
        exhausted = any(c + cost > i.amount for c, i in zip(counts, limiter.limits, strict=True))
        if not exhausted:
            counts = [c + cost for c in counts]  # what the script returns for a counted hit
        raw = [0 if exhausted else 1, *counts, *resets, now]
        result = limiter.result_of(raw, cost)
        assert (
            result.allowed,
            result.limit,
            result.remaining,
            result.reset_epoch,
            result.retry_after,
        ) == _reference_result(limiter, raw, cost), raw
