"""CPU per authenticated request's Redis step: the auth-cache lookup and its rate-limit hit.

    python bench/auth_step.py [--root DIR] [--no-hiredis] [--lookups 5000] [--rounds 5]

Against the real Redis of REDIS_URL (default redis://127.0.0.1:6379/0; use a database of
its own, as a client bumping the cache epoch there turns lookups into misses), one
coroutine at a time on uvloop, best of `--rounds`:

- `lookup+count`: `AuthCache.lookup` of a cached API key with the rate limiter, the one
  Redis round trip of a request;
- `authenticate_api_key`: the whole cached authentication around it (hashing the key,
  the identity, the key's last use).

`--root DIR` imports torale from another checkout (e.g. `git archive main | tar -x -C
/tmp/main`) for before/after figures; `--no-hiredis` makes redis-py parse replies in
Python, as it did before hiredis was a dependency. Prints µs of this process's CPU per
call (the steadiest figure on a shared machine) and wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any


async def measure(
    label: str, step: Callable[[], Awaitable[Any]], lookups: int, rounds: int
) -> None:
    cpu = wall = float("inf")
    for _ in range(rounds):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        for _ in range(lookups):
            await step()
        cpu = min(cpu, (time.process_time() - started_cpu) / lookups * 1e6)
        wall = min(wall, (time.perf_counter() - started_wall) / lookups * 1e6)
    print(f"{label:22s} CPU {cpu:6.1f} µs   wall {wall:6.1f} µs   (best of {rounds} x {lookups})")


async def main(redis_url: str, lookups: int, rounds: int) -> None:
    from torale.auth.api_keys import hash_api_key
    from torale.auth.authenticate import authenticate_api_key
    from torale.auth.cache import AuthCache, CachedIdentity, api_key_credential, cache_redis_client
    from torale.auth.last_used import LastUsedBuffer
    from torale.ratelimit import RateLimiter, redis_client
    from torale.users.models import User

    cache = AuthCache(cache_redis_client(redis_url))
    limiter = RateLimiter(
        redis_client(redis_url),
        "1000000000/minute;1000000000/hour;1000000000/day",
        namespace=f"bench:auth-step:{uuid.uuid4().hex}",
    )
    token = "sk_" + uuid.uuid4().hex
    credential = api_key_credential(hash_api_key(token))
    user = User(id=uuid.uuid4(), email="bench@example.com")
    lookup = await cache.lookup(credential)
    if lookup.epoch is None:  # a fresh Redis: that lookup started the epoch
        lookup = await cache.lookup(credential)
    await cache.store(credential, lookup, CachedIdentity(user=user, api_key_id=uuid.uuid4()))
    last_used = LastUsedBuffer()
    session: Any = None  # never used: every lookup is answered from the cache
    await measure("lookup+count", lambda: cache.lookup(credential, limiter), lookups, rounds)
    await measure(
        "authenticate_api_key",
        lambda: authenticate_api_key(session, token, last_used, cache, limiter),
        lookups,
        rounds,
    )
    found = await cache.lookup(credential, limiter)
    assert found.identity is not None and found.rate_limit is not None, "the cache missed"
    await cache.aclose()
    await limiter.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", help="import torale from this checkout")
    parser.add_argument("--no-hiredis", action="store_true", help="parse replies in Python")
    parser.add_argument("--lookups", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.no_hiredis:
        sys.modules["hiredis"] = None  # type: ignore[assignment]  # import hiredis fails
    sys.path.insert(0, os.path.abspath(args.root or os.path.join(os.path.dirname(__file__), "..")))
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    import uvloop  # the loop uvicorn runs the API on

    uvloop.run(main(url, args.lookups, args.rounds))
