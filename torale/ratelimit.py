"""Per-identity rate limits with counters in Redis, shared by every API process.

Limits are written in the `limits` notation ("100/minute;1000/hour;10000/day") and
parsed by torale.rate_limit_notation, which leaves the `limits` package unimported.
Counting does not go through the `limits` strategies: they take one limit per call,
so three windows would cost three Redis round trips per request (and could not
refuse atomically: the minute counter would already be spent when the day window
says no). Instead one Lua script, run with EVALSHA, reads and increments every
window of a request at once.

Each window is a fixed window that opens on its first hit and expires after its
period (the same algorithm as `limits`' FixedWindowRateLimiter). A refused request
consumes nothing, so a client hammering past its limit does not push its own
reset further away.

When Redis cannot be reached the limiter fails open (the API keeps serving; the
failure is logged and counted) unless it is built with `fail_closed=True`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from torale.errors import RateLimited, Unavailable
from torale.observability import metrics
from torale.rate_limit_notation import RateLimitWindow, parse_many

log = logging.getLogger(__name__)

DEFAULT_LIMITS = "100/minute;1000/hour;10000/day"
API_KEY_CREATION_LIMITS = "10/hour"

# Counts one hit in every window of a request. `keys`: one hash per window,
# {n: count, r: when the window starts over (unix ms)}; `limits` and `periods_ms` per
# window. Returns allowed (1/0), then the windows' counts, then their reset times (unix
# ms), then the server's clock (ms). The reset time is stored when a window opens, so
# every response of one window reports the very same X-RateLimit-Reset. Shared by the
# script below and the auth cache's lookup (torale.auth.cache), which counts in the
# same round trip.
HIT_FUNCTION = """
local function count_hit(keys, cost, limits, periods_ms)
  local n = #keys
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local counts, resets, fresh = {}, {}, {}
  local allowed = 1
  for i = 1, n do
    local state = redis.call('HMGET', keys[i], 'n', 'r')
    local reset = tonumber(state[2])
    -- No window yet, or one past its end whose key has not expired yet: a new window.
    fresh[i] = reset == nil or reset <= now
    if fresh[i] then
      counts[i] = 0
      resets[i] = now + periods_ms[i]
    else
      counts[i] = tonumber(state[1]) or 0
      resets[i] = reset
    end
    if counts[i] + cost > limits[i] then allowed = 0 end
  end
  -- A refused request uses up nothing and opens no window.
  if allowed == 1 then
    for i = 1, n do
      counts[i] = counts[i] + cost
      if fresh[i] then
        redis.call('HSET', keys[i], 'n', counts[i], 'r', resets[i])
        redis.call('PEXPIREAT', keys[i], resets[i])
      else
        redis.call('HINCRBY', keys[i], 'n', cost)
      end
    end
  end
  local result = {allowed}
  for i = 1, n do result[#result + 1] = counts[i] end
  for i = 1, n do result[#result + 1] = resets[i] end
  result[#result + 1] = now
  return result
end
"""

# KEYS: the windows' hashes. ARGV: cost, then each window's limit, then its period (ms).
_HIT_SCRIPT = (
    HIT_FUNCTION
    + """
local n = #KEYS
local limits, periods = {}, {}
for i = 1, n do
  limits[i] = tonumber(ARGV[1 + i])
  periods[i] = tonumber(ARGV[1 + n + i])
end
return count_hit(KEYS, tonumber(ARGV[1]), limits, periods)
"""
)


@dataclass(frozen=True)
class RateLimitResult:
    """The outcome of one hit, described by the tightest window."""

    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int  # unix seconds when that window starts over
    retry_after: int  # seconds; 0 when allowed
    degraded: bool = False  # Redis was unreachable and the request was let through

    def raise_for_limit(self) -> None:
        if not self.allowed:
            raise RateLimited(self.retry_after)


def headers(result: RateLimitResult) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(result.limit),
        "X-RateLimit-Remaining": str(result.remaining),
        "X-RateLimit-Reset": str(result.reset_epoch),
    }


def parse_limits(spec: str | Sequence[RateLimitWindow]) -> list[RateLimitWindow]:
    if not isinstance(spec, str):
        items = list(spec)
    else:
        try:
            items = parse_many(spec)
        except ValueError as exc:
            raise ValueError(
                f"Invalid rate limit {spec!r}: expected e.g. '100/minute;1000/hour;10000/day'"
            ) from exc
    if not items:
        raise ValueError("At least one rate limit is required")
    if any(item.amount < 1 for item in items):
        raise ValueError(f"Invalid rate limit {spec!r}: amounts must be at least 1")
    return items


def redis_client(url: str, *, timeout: float = 0.5, **options: Any) -> aioredis.Redis:
    """A client that gives up fast: a slow Redis must not hold every request hostage.

    One immediate retry covers a pooled connection dropped by a Redis restart;
    redis-py's default (several retries with backoff) would stall requests for seconds.
    `options` go to `redis.asyncio.Redis.from_url` as they are.
    """
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
        **options,
    )


class RateLimiter:
    def __init__(
        self,
        redis: aioredis.Redis,
        limits: str | Sequence[RateLimitWindow] = DEFAULT_LIMITS,
        *,
        namespace: str = "torale:rl",
        fail_closed: bool = False,
        warn_interval: float = 10.0,
    ) -> None:
        self.redis = redis
        self.limits = parse_limits(limits)
        self.namespace = namespace
        self.fail_closed = fail_closed
        self.failures = 0  # hits that could not reach Redis
        self._warn_interval = warn_interval
        self._last_warning = -math.inf
        self._script = redis.register_script(_HIT_SCRIPT)
        self._periods_ms = [item.get_expiry() * 1000 for item in self.limits]

    @classmethod
    def from_url(
        cls, url: str, limits: str | Sequence[RateLimitWindow] = DEFAULT_LIMITS, **kwargs: Any
    ) -> RateLimiter:
        return cls(redis_client(url), limits, **kwargs)

    def keys_for(self, identity: str) -> list[str]:
        return [f"{self.namespace}:{identity}:{suffix}" for suffix in self.key_suffixes]

    @property
    def key_suffixes(self) -> list[str]:
        """What follows `namespace:identity:` in each window's key."""
        return [f"{item.amount}/{item.get_expiry()}s" for item in self.limits]

    @property
    def periods_ms(self) -> list[int]:
        return list(self._periods_ms)

    def result_of(self, raw: list[Any], cost: int = 1) -> RateLimitResult:
        """The answer of `count_hit` (HIT_FUNCTION), however it was run."""
        n = len(self.limits)
        allowed = raw[0] == 1
        counts = [int(c) for c in raw[1 : 1 + n]]
        resets_ms = [int(r) for r in raw[1 + n : 1 + 2 * n]]
        now_ms = int(raw[1 + 2 * n])
        if not allowed:
            metrics.observe_refusal(self.namespace)
        return self._tightest(allowed, counts, resets_ms, now_ms, cost)

    async def hit(self, identity: str, cost: int = 1) -> RateLimitResult:
        if cost < 1:
            raise ValueError("cost must be at least 1")
        keys = self.keys_for(identity)
        args = [cost, *(item.amount for item in self.limits), *self._periods_ms]
        try:
            # One EVALSHA per request. Only when Redis has lost the script (restart,
            # SCRIPT FLUSH) does redis-py add a SCRIPT LOAD and retry, once.
            raw = await self._script(keys=keys, args=args)
        except (TimeoutError, RedisError, OSError) as exc:
            return self._unreachable(exc)
        return self.result_of(raw, cost)

    async def hit_or_raise(self, identity: str, cost: int = 1) -> RateLimitResult:
        result = await self.hit(identity, cost)
        result.raise_for_limit()
        return result

    def _tightest(
        self, allowed: bool, counts: list[int], resets_ms: list[int], now_ms: int, cost: int
    ) -> RateLimitResult:
        windows = [
            (item.amount, max(item.amount - count, 0), reset_ms)
            for item, count, reset_ms in zip(self.limits, counts, resets_ms, strict=True)
        ]
        if allowed:
            # Least remaining; on a tie the window that resets last is the binding one.
            limit, remaining, reset_ms = min(windows, key=lambda w: (w[1], -w[2]))
            retry_after = 0
        else:
            # The request is refused until every exhausted window has started over.
            exhausted = [w for w, c in zip(windows, counts, strict=True) if c + cost > w[0]]
            limit, _, reset_ms = max(exhausted, key=lambda w: w[2])
            remaining = 0
            retry_after = max(1, math.ceil((reset_ms - now_ms) / 1000))
        return RateLimitResult(
            allowed=allowed,
            limit=limit,
            remaining=remaining,
            reset_epoch=math.ceil(reset_ms / 1000),
            retry_after=retry_after,
        )

    def _unreachable(self, exc: BaseException) -> RateLimitResult:
        self.failures += 1
        now = time.monotonic()
        # Once per interval, not once per request: an outage under load would flood the log.
        if now - self._last_warning >= self._warn_interval:
            self._last_warning = now
            log.warning(
                "Rate limiter cannot reach Redis (%s: %s); %s (failures so far: %d)",
                type(exc).__name__,
                exc,
                "refusing requests" if self.fail_closed else "letting requests through",
                self.failures,
            )
        if self.fail_closed:
            raise Unavailable("Rate limiter unavailable") from exc
        tightest = min(self.limits, key=lambda item: item.get_expiry())
        return RateLimitResult(
            allowed=True,
            limit=tightest.amount,
            remaining=tightest.amount,
            reset_epoch=int(time.time()) + tightest.get_expiry(),
            retry_after=0,
            degraded=True,
        )

    async def aclose(self) -> None:
        await self.redis.aclose()
