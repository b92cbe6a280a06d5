"""Who a credential belongs to, cached briefly in the Redis every API replica shares.

Authenticating from the database is an indexed join per request (about 1.5 ms with
the pool's pre-ping, the largest single cost of a small request). The cache answers
with one Redis round trip instead, and that same round trip counts the request
against its rate limits (`lookup(credential, limiter)`, one Lua script).

Staleness is what matters for credentials: a revoked key or a deactivated user must
stop working at once, on every replica. Entries therefore carry the value of one
global epoch counter, and every transaction that changes users or API keys bumps
that counter after it commits (see `identity_changes`); an entry of an older epoch
is a miss. The epoch is read *before* the database, so a request that read a row
just before a revocation committed stores its entry under the old epoch, which is
already dead. Changes are rare next to requests, so invalidating everyone's entries
at once costs nothing worth a finer scheme. Entries also expire after `ttl_seconds`,
which bounds changes made behind the API's back (a CLI promotion, SQL by hand).

Only found, active identities are cached; a miss or a refusal always asks the
database. Redis unreachable: authenticate from the database as if there were no
cache (the rate limiter decides separately whether the request is served).

Redis misbehaving must never revive a revoked credential, so a 200 on a revocation
means refused everywhere whatever Redis did:

- Before a change that can take access away commits, the epoch is bumped
  (`invalidate_before_commit`); when that fails the change is refused (503) and
  nothing is written. An unreachable Redis thus costs revocations, never their effect.
- After the commit the epoch is bumped again, for entries stored by requests that read
  the row in between. If that bump fails, this process keeps retrying it in the
  background until Redis answers, and serves no cached identity meanwhile.
- Every Redis server run gets the epoch bumped before this process sends it anything
  else (`cache_redis_client`). A Redis that restarted, perhaps from a snapshot or an
  append-only file without the latest bumps, is reached only through new connections,
  and the first of them finds a new `run_id`, so no entry written before it went down
  is ever trusted again.
- An epoch that vanished (evicted, flushed) starts again from the clock in
  microseconds, never from a small number an entry still alive may carry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import inspect

from torale.auth.cache_entries import parsed_entry
from torale.auth.subject import StoredUser, Subject
from torale.errors import Unavailable
from torale.ratelimit import (
    HIT_FUNCTION,
    LuaScript,
    RateLimiter,
    RateLimitResult,
    bounded,
    redis_client,
)
from torale.users.models import User

log = logging.getLogger(__name__)

EPOCH_KEY = "torale:auth:epoch"
_ENTRY_PREFIX = "torale:auth:entry:"
CANNOT_INVALIDATE = (
    "Cannot invalidate cached credentials (Redis unreachable); nothing was changed, "
    "try again shortly"
)


# KEYS[1]: the epoch; ARGV[1]: a fresh epoch, used only when the key is missing.
_BUMP_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[1])
  return tonumber(ARGV[1])
end
return redis.call('INCR', KEYS[1])
"""


# The lookup and the rate-limit hit of an authenticated request in one round trip.
# KEYS[1]: the epoch, KEYS[2]: the entry. ARGV: cost, the limiter's namespace, then per
# window its key suffix, limit and period (ms). Returns {epoch, entry, hit...}: the
# hit (see ratelimit.HIT_FUNCTION) only for a live entry of the current epoch, counted
# under the identity the entry names; otherwise nothing is counted and the caller
# authenticates from the database, then counts separately.
_LOOKUP_AND_COUNT_SCRIPT = (
    HIT_FUNCTION
    + """
local epoch = redis.call('GET', KEYS[1])
local raw = redis.call('GET', KEYS[2])
if not epoch or not raw then return {epoch, raw} end
local ok, entry = pcall(cjson.decode, raw)
if not ok or entry['epoch'] ~= epoch or type(entry['rate_limit_identity']) ~= 'string' then
  return {epoch, raw}
end
local n = (#ARGV - 2) / 3
local keys, limits, periods = {}, {}, {}
for i = 1, n do
  keys[i] = ARGV[2] .. ':' .. entry['rate_limit_identity'] .. ':' .. ARGV[2 + i]
  limits[i] = tonumber(ARGV[2 + n + i])
  periods[i] = tonumber(ARGV[2 + 2 * n + i])
end
local result = {epoch, raw}
for _, value in ipairs(count_hit(keys, tonumber(ARGV[1]), limits, periods)) do
  result[#result + 1] = value
end
return result
"""
)


def _fresh_epoch() -> int:
    return time.time_ns() // 1000


class _BumpOnNewServer:
    """The cache client's connect hook: the epoch is bumped once per Redis server run.

    Only a server this process has not bumped on yet may hold entries older than a
    change (restored from disk, or a replica promoted): its `run_id` is new. Every other
    new connection (the pool growing under load, a reconnect after a timeout) bumps
    nothing, since each bump turns every entry of every API replica into a miss.
    """

    def __init__(self) -> None:
        # The run_id of the server last bumped on; recorded once its bump has answered.
        self._bumped_on: bytes | None = None

    async def connect(self, connection: AbstractConnection) -> None:
        # A coroutine method: redis-py awaits its hook only if iscoroutinefunction says so.
        await connection.on_connect()  # the usual handshake
        await connection.send_command("INFO", "server")
        try:
            run_id = _run_id(await connection.read_response())
        except ResponseError:
            run_id = None  # INFO refused (an ACL, a renamed command): bump on every connect
        if run_id is None or run_id != self._bumped_on:
            await connection.send_command("EVAL", _BUMP_SCRIPT, 1, EPOCH_KEY, _fresh_epoch())
            await connection.read_response()
            self._bumped_on = run_id


def _run_id(info: bytes | str) -> bytes | None:
    # From INFO's raw text; None (bump on every connect) if a server or proxy won't tell.
    text = info.encode() if isinstance(info, str) else info
    for line in text.splitlines():
        if line.startswith(b"run_id:"):
            return line[len(b"run_id:") :].strip() or None
    return None


def cache_redis_client(url: str) -> Redis:
    """The fast-failing client of the rate limiter, bumping the epoch on every new server."""
    return redis_client(url, redis_connect_func=_BumpOnNewServer().connect)


@dataclass(frozen=True, slots=True)
class CachedIdentity:
    # Stored from the database's `User`; read back as a `StoredUser`, built on demand.
    user: User | StoredUser
    api_key_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Lookup:
    # The epoch read with the entry; None when Redis could not be asked.
    epoch: bytes | None
    identity: CachedIdentity | None = None
    # The request's rate-limit hit, when it was counted in the same round trip.
    rate_limit: RateLimitResult | None = None


def api_key_credential(key_hash: str) -> str:
    # The hash, never the key: Redis holds nothing that authenticates by itself.
    return f"key:{key_hash}"


def jwt_credential(subject: str) -> str:
    return f"sub:{subject}"


class AuthCache:
    def __init__(self, redis: Redis, *, ttl_seconds: int = 60, retry_interval: float = 0.1) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._retry_interval = retry_interval
        # Set while an invalidation after a commit has not reached Redis yet.
        self._pending: asyncio.Task[None] | None = None
        self._bump_script = redis.register_script(_BUMP_SCRIPT)
        self._lookup_and_count = LuaScript(redis, _LOOKUP_AND_COUNT_SCRIPT)

    async def _bump(self) -> None:
        # Every command is `bounded`: the client has no socket timeout (`redis_client`).
        await bounded(lambda: self._bump_script(keys=[EPOCH_KEY], args=[_fresh_epoch()]))

    @property
    def invalidation_pending(self) -> bool:
        return self._pending is not None and not self._pending.done()

    async def lookup(self, credential: str, limiter: RateLimiter | None = None) -> Lookup:
        """The cached identity of `credential`; with `limiter`, a hit found is also
        counted against its rate limits in the same round trip (`Lookup.rate_limit`)."""
        if self.invalidation_pending:
            # What Redis holds may predate a committed change: ask the database, store nothing.
            return Lookup(epoch=None)
        raw_hit: list[Any] = []
        try:
            if limiter is None:
                epoch, raw = await bounded(
                    lambda: self._redis.mget(EPOCH_KEY, _ENTRY_PREFIX + credential)
                )
            else:
                epoch, raw, *raw_hit = await self._lookup_and_count(
                    (EPOCH_KEY, _ENTRY_PREFIX + credential), (1, *limiter.window_args)
                )
        except (RedisError, OSError) as exc:
            log.warning("auth cache unavailable, using the database: %s", exc)
            return Lookup(epoch=None)
        if epoch is None:
            # Lost (evicted, flushed): start a new epoch; nothing stored before counts.
            try:
                await self._bump()
            except (RedisError, OSError) as exc:
                log.warning("auth cache epoch not restarted: %s", exc)
            return Lookup(epoch=None)
        if raw is None:
            return Lookup(epoch=epoch)
        entry = parsed_entry(raw)
        if entry.epoch != epoch.decode():
            return Lookup(epoch=epoch)
        return Lookup(
            epoch=epoch,
            identity=CachedIdentity(
                user=StoredUser(entry.user_columns, entry.user_id),
                api_key_id=entry.api_key_id,
            ),
            rate_limit=limiter.result_of(raw_hit) if limiter and raw_hit else None,
        )

    async def store(self, credential: str, lookup: Lookup, identity: CachedIdentity) -> None:
        """Remember `identity` under the epoch `lookup` read before the database was asked."""
        if lookup.epoch is None:
            return
        entry = {
            "epoch": lookup.epoch.decode(),
            "api_key_id": str(identity.api_key_id) if identity.api_key_id else None,
            "user": _columns(_loaded(identity.user)),
            # Who the request is counted as, read by the lookup-and-count script.
            "rate_limit_identity": Subject(
                user=identity.user, api_key_id=identity.api_key_id
            ).rate_limit_identity,
        }
        try:
            value = orjson.dumps(entry, default=str)
            await bounded(lambda: self._redis.set(_ENTRY_PREFIX + credential, value, ex=self._ttl))
        except (RedisError, OSError) as exc:
            log.warning("auth cache unavailable, entry not stored: %s", exc)

    async def invalidate_before_commit(self) -> None:
        """Kill every entry before a revoking change commits; `Unavailable` if Redis can't."""
        try:
            await self._bump()
        except (RedisError, OSError) as exc:
            log.warning("auth cache unreachable, refusing an identity change: %s", exc)
            raise Unavailable(CANNOT_INVALIDATE) from exc

    async def invalidate(self) -> None:
        """Make every cached identity a miss (after a change to users or API keys commits)."""
        try:
            await self._bump()
        except (RedisError, OSError) as exc:
            log.warning("auth cache not invalidated yet, retrying until Redis answers: %s", exc)
            if not self.invalidation_pending:
                self._pending = asyncio.create_task(self._invalidate_until_done())

    async def _invalidate_until_done(self) -> None:
        while True:
            await asyncio.sleep(self._retry_interval)
            try:
                await self._bump()
            except (RedisError, OSError):
                continue
            log.warning("auth cache invalidated after Redis came back")
            return

    async def aclose(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pending
        await self._redis.aclose()


def _loaded(user: User | StoredUser) -> User:
    # Stored identities come from the database (a `User`); a cached one is built first.
    return user.load() if isinstance(user, StoredUser) else user


def _columns(user: User) -> dict[str, object]:
    # Straight from the mapped columns: a row loaded from the database holds plain
    # strings where the model declares enums, which pydantic's dump warns about.
    return {column.name: getattr(user, column.name) for column in inspect(User).columns}
