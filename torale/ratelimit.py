"""Per-identity rate limits with counters in Redis, shared by every API process.

Limits are written in the `limits` notation ("100/minute;1000/hour;10000/day") and
parsed by torale.rate_limit_notation, which leaves the `limits` package unimported.
Counting does not go through the `limits` strategies: they take one limit per call,
so three windows would cost three Redis round trips per request (and could not
refuse atomically: the minute counter would already be spent when the day window
says no). Instead one Lua script, run with EVALSHA (`LuaScript`), reads and
increments every window of a request at once.

Each window is a fixed window that opens on its first hit and expires after its
period (the same algorithm as `limits`' FixedWindowRateLimiter). A refused request
consumes nothing, so a client hammering past its limit does not push its own
reset further away.

When Redis cannot be reached the limiter fails open (the API keeps serving; the
failure is logged and counted) unless it is built with `fail_closed=True`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

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


# Seconds: a slow Redis must not hold every request hostage.
REDIS_TIMEOUT = 0.5

T = TypeVar("T")


def redis_client(url: str, *, timeout: float = REDIS_TIMEOUT, **options: Any) -> aioredis.Redis:
    """A client that connects, or gives up, fast.

    Its commands have no socket timeout: their callers (`LuaScript`, the auth cache)
    bound each attempt with `bounded`, one timer per attempt, where redis-py's socket
    timeout costs a task and a timer per command sent.
    One immediate retry covers a pooled connection dropped by a Redis restart;
    redis-py's default (several retries with backoff) would stall requests for seconds.
    `options` go to `redis.asyncio.Redis.from_url` as they are.
    """
    return aioredis.Redis.from_url(
        url, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 1), **options
    )


async def bounded(call: Callable[[], Awaitable[T]], seconds: float = REDIS_TIMEOUT) -> T:
    """`call()`, given up after `seconds` and then tried once more (TimeoutError
    if that one times out too): what a socket timeout and the one retry of a
    `redis_client` used to do. A call cut short leaves no stray reply behind: redis-py
    disconnects a connection whose command was cancelled."""
    try:
        async with asyncio.timeout(seconds):
            return await call()
    except TimeoutError:
        async with asyncio.timeout(seconds):
            return await call()


def _bulk(value: str | int) -> bytes:
    # One argument of a command as Redis reads it (RESP bulk string), UTF-8 like redis-py.
    data = value.encode() if isinstance(value, str) else str(value).encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


# Distinct argument lists of one script whose encoding is kept: the callers send the
# same few again and again (a limiter's windows), never values that vary per request.
_KEPT_ARGUMENT_LISTS = 64


class LuaScript:
    """One Lua script of the client `redis`, run with EVALSHA: one round trip a call.

    The command every API request sends. redis-py's `Script` goes through the client's
    command path, which per command checks a connection out of the pool (polling its
    socket for a stray reply), wraps observability hooks around it, encodes every
    argument again and looks up response callbacks: together as much CPU as the round
    trip itself. This borrows connections from the client's pool once, keeps them, and
    sends on them directly:

    - The pool still owns them: closing the client closes them too.
    - A connection never holds a stray reply: redis-py disconnects one whose send or
      read failed or was cancelled (a timeout), and it reconnects on its next command.
    - A connection Redis dropped (a restart) is retried by the connection's own retry
      policy, the one `redis_client` sets; a Redis that lost the script (a restart,
      SCRIPT FLUSH) gets it loaded once more, on that connection.
    - A call that takes longer than `timeout` seconds is given up and tried once more
      (`bounded`).
    """

    def __init__(self, redis: aioredis.Redis, script: str, timeout: float = REDIS_TIMEOUT) -> None:
        self._pool = redis.connection_pool
        self._script = script
        self._timeout = timeout
        self._head = _bulk("EVALSHA") + _bulk(hashlib.sha1(script.encode()).hexdigest())
        self._encoded_args: dict[tuple[str | int, ...], bytes] = {}
        self._idle: list[AbstractConnection] = []

    async def __call__(self, keys: Sequence[str], args: tuple[str | int, ...]) -> Any:
        command = self._command(keys, args)
        if self._idle:
            conn = self._idle.pop()
        else:
            conn = await bounded(self._pool.get_connection, self._timeout)
        try:
            return await bounded(lambda: self._attempt(conn, command), self._timeout)
        finally:
            self._idle.append(conn)

    async def _attempt(self, conn: AbstractConnection, command: bytes) -> Any:
        """The script once, under the connection's retry policy. The policy is only
        brought in when the first try fails (it then decides about that very error, as
        if it had made the try): building its closures for every call cost more than
        the rest of the call's own Python."""
        try:
            return await self._evalsha(conn, command)
        except Exception as error:
            failed: list[Exception] = [error]

            async def again() -> Any:
                if failed:
                    raise failed.pop()
                return await self._evalsha(conn, command)

            return await conn.retry.call_with_retry(again, lambda _error: conn.disconnect())

    def _command(self, keys: Sequence[str], args: tuple[str | int, ...]) -> bytes:
        encoded_args = self._encoded_args.get(args)
        if encoded_args is None:
            encoded_args = b"".join(map(_bulk, args))
            if len(self._encoded_args) < _KEPT_ARGUMENT_LISTS:
                self._encoded_args[args] = encoded_args
        return b"".join(
            (
                b"*%d\r\n" % (3 + len(keys) + len(args)),
                self._head,
                _bulk(len(keys)),
                *map(_bulk, keys),
                encoded_args,
            )
        )

    async def _evalsha(self, conn: AbstractConnection, command: bytes) -> Any:
        await conn.send_packed_command(command, check_health=False)
        try:
            return await conn.read_response()
        except NoScriptError:
            await conn.send_command("SCRIPT", "LOAD", self._script, check_health=False)
            await conn.read_response()
            await conn.send_packed_command(command, check_health=False)
            return await conn.read_response()


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
        self._script = LuaScript(redis, _HIT_SCRIPT)
        # Fixed per limiter, so worked out once rather than on every request.
        self._amounts = tuple(item.amount for item in self.limits)
        self._periods_ms = tuple(item.get_expiry() * 1000 for item in self.limits)
        self._key_suffixes = tuple(f"{item.amount}/{item.get_expiry()}s" for item in self.limits)
        # The windows as the auth cache's lookup-and-count script reads them, after the
        # cost: the namespace, then per window its key suffix, limit and period (ms).
        self.window_args: tuple[str | int, ...] = (
            namespace,
            *self._key_suffixes,
            *self._amounts,
            *self._periods_ms,
        )

    @classmethod
    def from_url(
        cls, url: str, limits: str | Sequence[RateLimitWindow] = DEFAULT_LIMITS, **kwargs: Any
    ) -> RateLimiter:
        return cls(redis_client(url), limits, **kwargs)

    def keys_for(self, identity: str) -> list[str]:
        """Each window's hash: `namespace:identity:` and the window's key suffix."""
        return [f"{self.namespace}:{identity}:{suffix}" for suffix in self._key_suffixes]

    def result_of(self, raw: list[Any], cost: int = 1) -> RateLimitResult:
        """The answer of `count_hit` (HIT_FUNCTION), however it was run: allowed, the
        windows' counts, their reset times (ms), the server's clock (ms); all integers."""
        n = len(self._amounts)
        counts = raw[1 : 1 + n]
        resets_ms = raw[1 + n : 1 + 2 * n]
        if raw[0] == 1:
            return self._binding(counts, resets_ms)
        metrics.observe_refusal(self.namespace)
        return self._refusal(counts, resets_ms, raw[1 + 2 * n], cost)

    async def hit(self, identity: str, cost: int = 1) -> RateLimitResult:
        if cost < 1:
            raise ValueError("cost must be at least 1")
        try:
            # One EVALSHA per request (see `LuaScript`).
            raw = await self._script(
                self.keys_for(identity), (cost, *self._amounts, *self._periods_ms)
            )
        except (TimeoutError, RedisError, OSError) as exc:
            return self._unreachable(exc)
        return self.result_of(raw, cost)

    async def hit_or_raise(self, identity: str, cost: int = 1) -> RateLimitResult:
        result = await self.hit(identity, cost)
        result.raise_for_limit()
        return result

    def _binding(self, counts: list[int], resets_ms: list[int]) -> RateLimitResult:
        # An allowed request reports the window with the least remaining; on a tie the
        # one that resets last. (A plain loop: this runs on every request.)
        limit = remaining = reset_ms = -1
        for amount, count, reset in zip(self._amounts, counts, resets_ms, strict=True):
            left = amount - count if count < amount else 0
            if limit < 0 or left < remaining or (left == remaining and reset > reset_ms):
                limit, remaining, reset_ms = amount, left, reset
        return RateLimitResult(
            allowed=True,
            limit=limit,
            remaining=remaining,
            reset_epoch=-(-reset_ms // 1000),
            retry_after=0,
        )

    def _refusal(
        self, counts: list[int], resets_ms: list[int], now_ms: int, cost: int
    ) -> RateLimitResult:
        # Refused until every exhausted window has started over: the latest of their resets.
        limit, reset_ms = max(
            (
                (amount, reset)
                for amount, count, reset in zip(self._amounts, counts, resets_ms, strict=True)
                if count + cost > amount
            ),
            key=lambda window: window[1],
        )
        return RateLimitResult(
            allowed=False,
            limit=limit,
            remaining=0,
            reset_epoch=-(-reset_ms // 1000),
            retry_after=max(1, -(-(reset_ms - now_ms) // 1000)),
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
