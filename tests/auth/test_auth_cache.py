"""The Redis cache of who a credential belongs to: used, invalidated at once, never stale."""

from __future__ import annotations

import time
import uuid
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis
from sqlalchemy import select, update

from tests.helpers import silent_redis, statements_seen
from torale.auth.cache import (
    AuthCache,
    CachedIdentity,
    Lookup,
    api_key_credential,
    cache_redis_client,
)
from torale.auth.identity_changes import IdentityChange, consume_identity_change
from torale.db import unit_of_work
from torale.errors import Unavailable
from torale.models_base import utcnow
from torale.ratelimit import RateLimiter
from torale.users.models import ApiKey, ApiKeyState, User, UserRole, UserState


@asynccontextmanager
async def replica(settings):
    """A second API process on the same PostgreSQL and Redis."""
    from tests.helpers import app_client

    async with app_client(settings) as (_, client):
        yield client


async def test_a_known_key_is_answered_without_the_database(client, make_account, resources):
    account = await make_account()
    first = await client.get("/auth/me", headers=account.headers)
    async with statements_seen(resources.request_engine) as seen:
        again = await client.get("/auth/me", headers=account.headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert not [s for s in seen if "api_keys" in s or "FROM users" in s]


async def test_a_key_revoked_on_one_replica_is_refused_at_once_by_another(
    client, make_account, settings
):
    account = await make_account()
    created = await client.post("/auth/api-keys", json={"name": "doomed"}, headers=account.headers)
    doomed = {"Authorization": f"Bearer {created.json()['key']}"}
    async with replica(settings) as other:
        assert (await other.get("/auth/me", headers=doomed)).status_code == 200  # now cached
        revoked = await client.delete(
            f"/auth/api-keys/{created.json()['id']}", headers=account.headers
        )
        assert revoked.status_code == 200
        refused = await other.get("/auth/me", headers=doomed)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "Invalid API key"}


async def test_a_user_deactivated_on_one_replica_is_refused_at_once_by_another(
    client, make_account, settings
):
    admin = await make_account(admin=True)
    user = await make_account()
    async with replica(settings) as other:
        assert (await other.get("/api/v1/tasks", headers=user.headers)).status_code == 200
        done = await client.patch(f"/admin/users/{user.user_id}/deactivate", headers=admin.headers)
        assert done.status_code == 200
        refused = await other.get("/api/v1/tasks", headers=user.headers)
    assert refused.status_code == 401


async def test_an_entry_read_before_a_change_is_stored_dead(service_urls):
    # The race the epoch closes: a request reads the row, a revocation commits and
    # invalidates, then the request stores what it read. That entry must be a miss.
    async with Redis.from_url(service_urls.redis_url) as redis:
        cache = AuthCache(redis, ttl_seconds=60)
        credential = api_key_credential(uuid.uuid4().hex)
        identity = CachedIdentity(
            user=User(id=uuid.uuid4(), email="a@example.com"), api_key_id=None
        )

        before = await cache.lookup(credential)
        await cache.invalidate()
        await cache.store(credential, before, identity)
        assert (await cache.lookup(credential)).identity is None

        fresh = await cache.lookup(credential)
        await cache.store(credential, fresh, identity)
        found = (await cache.lookup(credential)).identity
        assert found is not None and found.user.id == identity.user.id


async def test_a_cached_user_is_built_only_when_a_request_asks_for_it(service_urls):
    # Most requests need the caller's id and role only; building the SQLModel instance
    # costs more than the rest of a cached authentication, so it waits until asked for.
    from torale.auth.subject import Subject

    async with Redis.from_url(service_urls.redis_url) as redis:
        cache = AuthCache(redis, ttl_seconds=60)
        credential = api_key_credential(uuid.uuid4().hex)
        user = User(
            id=uuid.uuid4(), email="a@example.com", role=UserRole.ADMIN, last_login=utcnow()
        )
        await cache.store(credential, await cache.lookup(credential), CachedIdentity(user, None))
        found = (await cache.lookup(credential)).identity
    assert found is not None
    subject = Subject(user=found.user, api_key_id=None)
    assert subject.user_id == user.id and subject.is_admin
    assert subject.rate_limit_identity == f"user:{user.id}"
    assert not isinstance(found.user, User)  # nothing was built for those
    built = subject.user
    assert isinstance(built, User) and built.model_dump() == user.model_dump()
    assert subject.user is built  # once per request


async def test_entries_expire_after_the_configured_time(service_urls):
    async with Redis.from_url(service_urls.redis_url) as redis:
        cache = AuthCache(redis, ttl_seconds=7)
        credential = api_key_credential(uuid.uuid4().hex)
        user = User(id=uuid.uuid4(), email="a@example.com")
        await cache.store(credential, await cache.lookup(credential), CachedIdentity(user, None))
        ttl = await redis.ttl(f"torale:auth:entry:{credential}")
    assert 0 < ttl <= 7


async def test_an_unreachable_redis_means_no_cache_not_an_error(unused_tcp_port):
    # The API's own fast-failing client (redis-py's default retries with backoff).
    cache = AuthCache(cache_redis_client(f"redis://127.0.0.1:{unused_tcp_port}/0"), ttl_seconds=60)
    credential = api_key_credential("x")
    lookup = await cache.lookup(credential)
    assert lookup.epoch is None and lookup.identity is None
    user = User(id=uuid.uuid4(), email="a@example.com")
    await cache.store(credential, lookup, CachedIdentity(user, None))  # nothing to store into
    await cache.invalidate()  # logged and retried in the background, not raised
    assert cache.invalidation_pending
    with pytest.raises(Unavailable):
        await cache.invalidate_before_commit()  # a revocation must not commit now
    await cache.aclose()


async def test_writes_to_users_or_keys_mark_the_session_and_reads_or_inserts_do_not(
    resources, make_account
):
    account = await make_account()
    async with unit_of_work(resources.session_factory) as session:
        await session.execute(select(User).where(User.id == account.user_id))
        session.add(User(email=f"new-{uuid.uuid4().hex[:6]}@example.com"))
        await session.flush()
        assert not consume_identity_change(session.sync_session)

        user = await session.get(User, account.user_id)
        user.email = "renamed@example.com"
        await session.flush()
        assert consume_identity_change(session.sync_session)
        assert not consume_identity_change(session.sync_session)  # consumed

        await session.execute(
            update(ApiKey).where(ApiKey.user_id == account.user_id).values(name="x")
        )
        assert consume_identity_change(session.sync_session)


async def test_changes_that_can_take_access_away_are_revocations(resources, make_account):
    account = await make_account()
    async with resources.session_factory() as session:
        user = await session.get(User, account.user_id)
        key = (await session.execute(select(ApiKey).where(ApiKey.user_id == user.id))).scalar_one()
        steps = [
            (lambda: setattr(user, "last_login", utcnow()), IdentityChange.REFRESH),
            (lambda: setattr(user, "email", "other@example.com"), IdentityChange.REFRESH),
            (lambda: setattr(key, "name", "renamed"), IdentityChange.REFRESH),
            (lambda: setattr(user, "state", UserState.DEACTIVATED), IdentityChange.REVOCATION),
            (lambda: setattr(user, "role", UserRole.ADMIN), IdentityChange.REVOCATION),
            (lambda: setattr(key, "state", ApiKeyState.REVOKED), IdentityChange.REVOCATION),
        ]
        for change, strength in steps:
            change()
            await session.flush()
            assert consume_identity_change(session.sync_session) is strength
        # The strongest change of a transaction wins.
        user.last_login = utcnow()
        await session.delete(key)
        await session.flush()
        assert consume_identity_change(session.sync_session) is IdentityChange.REVOCATION
        await session.rollback()


async def test_an_email_synced_from_a_jwt_shows_on_the_next_api_key_request(
    client, make_account, resources
):
    # Any committed change to the user, here through the same unit of work the API
    # uses, makes the cached copy stale at once.
    from torale.graphql.context import ToraleContext

    account = await make_account()
    assert (await client.get("/auth/me", headers=account.headers)).json()["email"] == account.email
    async with resources.session_factory() as session:
        context = ToraleContext(resources=resources, session=session, subject=None)
        user = await session.get(User, account.user_id)
        user.email = "changed@example.com"
        await context.finish(succeeded=True)
    assert (await client.get("/auth/me", headers=account.headers)).json()["email"] == (
        "changed@example.com"
    )


@pytest.fixture
def unused_tcp_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_redis_that_hangs_means_no_cache_within_the_timeout():
    # The client has no socket timeout (`redis_client`): every cache call bounds itself.
    async with silent_redis() as url:
        cache = AuthCache(cache_redis_client(url), ttl_seconds=60)
        limiter = RateLimiter(cache_redis_client(url), "100/minute")
        credential = api_key_credential("x")
        started = time.monotonic()
        for counted in (None, limiter):
            lookup = await cache.lookup(credential, counted)
            assert lookup.epoch is None and lookup.identity is None
        with pytest.raises(Unavailable):
            await cache.invalidate_before_commit()
        user = User(id=uuid.uuid4(), email="a@example.com")
        await cache.store(credential, Lookup(epoch=b"1"), CachedIdentity(user, None))
        assert time.monotonic() - started < 8  # four calls, each bounded
        await cache.aclose()
        await limiter.aclose()
