"""Fixtures of the fan-out tests (imported by the test modules that use them)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from torale.config import Settings
from torale.db import session_factory, to_async_url
from torale.webhooks import queue

# Tiny schedule: three retries 0.2 s apart keep the tests fast.
FAST_RETRIES = "0.2,0.2,0.2"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(to_async_url(database_url), pool_size=5)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def fanout_settings(database_url: str, service_urls) -> Settings:
    """Private addresses allowed (the receiver is on 127.0.0.1), fast retries."""
    return Settings(
        environment="test",
        database_url=database_url,
        redis_url=service_urls.redis_url,
        allow_private_urls=True,
        webhook_retry_schedule=FAST_RETRIES,
        webhook_timeout_seconds=5.0,
        secret_key="test-only-secret-key-that-seals-webhook-secrets",
    )


def fresh_namespace(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@contextmanager
def own_broker(redis_url: str, options: queue.BrokerOptions) -> Iterator[RedisBroker]:
    """A Dramatiq broker for the block; the keys of its namespace go with it."""
    broker = queue.build_broker(redis_url, options)
    try:
        yield broker
    finally:
        keys = broker.client.keys(f"{options.namespace}*")
        if keys:
            broker.client.delete(*keys)
        broker.close()


@pytest.fixture
def test_broker(service_urls) -> Iterator:
    """A Redis broker in a namespace of its own (producers: `DeliveryProducer(test_broker)`)."""
    options = queue.BrokerOptions(
        namespace=fresh_namespace("torale-test"),
        heartbeat_timeout_ms=1500,
        # Every broker call runs maintenance: a dead worker's messages come back fast.
        maintenance_chance=1_000_000,
    )
    with own_broker(service_urls.redis_url, options) as broker:
        yield broker


@pytest.fixture
def producer(test_broker) -> queue.DeliveryProducer:
    """Hand-offs made by the test enqueue on `test_broker`."""
    return queue.DeliveryProducer(test_broker)


@pytest.fixture
def api_producer(resources, producer, monkeypatch) -> queue.DeliveryProducer:
    """The API's redeliveries enqueue on `test_broker` too (its resources hold the producer)."""
    monkeypatch.setattr(resources, "enqueue_delivery", producer)
    return producer


@contextmanager
def running_worker(broker, settings: Settings) -> Iterator[dramatiq.Worker]:
    """An in-process Dramatiq worker delivering with `settings` for the block."""
    queue.install_actor(broker, settings)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
