"""Dramatiq plumbing of the fan-out: the Redis broker, the `webhook.deliver` actor and
the `DeliveryProducer` that enqueues it.

Producers (the execution pipeline, the API's redeliver) only need a broker to put a
message on the queue; each process builds its producer once and hands it to the code
that enqueues (no module keeps one). The actor itself is declared by the worker process
(`workers.dramatiq_worker`), bound to the settings it runs with.

Nothing is lost when a worker dies or a message is: the delivery row is the source of
truth (torale.webhooks.outbox), and every worker process runs the outbox sweeper, which
enqueues again each due delivery whose message's lease ran out. The broker's own
requeue of a dead worker's unacknowledged messages (its maintenance pass, run on a
random `maintenance_chance` per million broker calls) may come sooner, but nothing
relies on it; the delivery row makes any repeated message safe (torale.webhooks.delivery).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dramatiq
from dramatiq.brokers.redis import (
    DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_MAINTENANCE_CHANCE,
    RedisBroker,
)
from dramatiq.middleware import Middleware
from dramatiq.middleware.asyncio import AsyncIO

from torale.config import Settings
from torale.observability import tracing
from torale.webhooks.sweeper import OutboxSweeper

if TYPE_CHECKING:
    import httpx
    from dramatiq import Broker, Worker
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from torale.webhooks.delivery import DeliveryStep
    from torale.webhooks.outbox import SweepReport

log = logging.getLogger(__name__)

ACTOR_NAME = "webhook.deliver"
QUEUE_NAME = "notifications"
NAMESPACE = "torale-dramatiq"
# A message that keeps raising (database down, a bug) is retried by Dramatiq with
# exponential backoff; delivery failures themselves are scheduled by us, not raised.
ACTOR_MAX_RETRIES = 20
ACTOR_MIN_BACKOFF_MS = 1_000
ACTOR_MAX_BACKOFF_MS = 15 * 60_000
# Above the longest attempt (webhook timeout, SMTP) with a wide margin.
ACTOR_TIME_LIMIT_MS = 5 * 60_000
# Redis's delayed messages must be due within 7 days (dramatiq's limit).
_MAX_DELAY_MS = 7 * 24 * 3600 * 1000 - 60_000


@dataclass(frozen=True)
class BrokerOptions:
    namespace: str = NAMESPACE
    heartbeat_timeout_ms: int = DEFAULT_HEARTBEAT_TIMEOUT
    maintenance_chance: int = DEFAULT_MAINTENANCE_CHANCE

    @classmethod
    def from_settings(cls, settings: Settings) -> BrokerOptions:
        """TORALE_DRAMATIQ_NAMESPACE, _HEARTBEAT_TIMEOUT_MS and _MAINTENANCE_CHANCE (per
        million broker calls); tests shorten the last two to see re-delivery quickly."""
        return cls(
            namespace=settings.dramatiq_namespace,
            heartbeat_timeout_ms=settings.dramatiq_heartbeat_timeout_ms,
            maintenance_chance=settings.dramatiq_maintenance_chance,
        )


def build_broker(redis_url: str, options: BrokerOptions | None = None) -> RedisBroker:
    options = options or BrokerOptions()
    broker = RedisBroker(
        url=redis_url,
        namespace=options.namespace,
        heartbeat_timeout=options.heartbeat_timeout_ms,
        maintenance_chance=options.maintenance_chance,
    )
    # Runs `async def` actors on one event loop thread per worker process.
    broker.add_middleware(AsyncIO())
    # Trace context in and out of messages, when tracing is on (else none).
    for middleware in tracing.dramatiq_middleware():
        broker.add_middleware(middleware)
    return broker


# --- producing messages


def send_delivery(
    delivery_id: uuid.UUID,
    token: int,
    delay_seconds: float | None = None,
    *,
    broker: RedisBroker,
) -> None:
    """Put one `webhook.deliver` message on the queue (blocking Redis call)."""
    message: dramatiq.Message[None] = dramatiq.Message(
        queue_name=QUEUE_NAME,
        actor_name=ACTOR_NAME,
        args=(str(delivery_id), token),
        kwargs={},
        options={},
    )
    delay = None
    if delay_seconds is not None and delay_seconds > 0:
        delay = min(int(delay_seconds * 1000), _MAX_DELAY_MS)
    broker.enqueue(message, delay=delay)


async def enqueue_delivery(
    delivery_id: uuid.UUID,
    token: int,
    delay_seconds: float | None = None,
    *,
    broker: RedisBroker,
) -> None:
    await asyncio.to_thread(send_delivery, delivery_id, token, delay_seconds, broker=broker)


class DeliveryProducer:
    """Enqueues deliveries on one broker: an `Enqueue` (torale.webhooks.fanout).

    Each process builds one and hands it to the code that enqueues: the API keeps it in
    its resources, the Temporal worker in its execution activities; the Dramatiq worker
    enqueues on the broker it consumes (`DeliveryRuntime`).
    """

    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryProducer:
        if not settings.redis_url:
            raise RuntimeError("REDIS_URL must be set to enqueue notification deliveries")
        return cls(build_broker(settings.redis_url, BrokerOptions.from_settings(settings)))

    async def __call__(
        self, delivery_id: uuid.UUID, token: int, delay_seconds: float | None = None
    ) -> None:
        await enqueue_delivery(delivery_id, token, delay_seconds, broker=self.broker)


# --- consuming them (the worker process)


# The worker's engine, its sessions and its HTTP client.
_Opened = tuple["AsyncEngine", "async_sessionmaker[AsyncSession]", "httpx.AsyncClient"]


class DeliveryRuntime:
    """The worker's database engine and HTTP client, opened on the actor's event loop."""

    def __init__(self, settings: Settings, broker: RedisBroker) -> None:
        self.settings = settings
        self.broker = broker
        self._opened: _Opened | None = None

    def _open(self) -> _Opened:
        from torale.db import create_engine, session_factory
        from torale.net import safe_client

        if self._opened is None:
            engine = create_engine(self.settings)
            client = safe_client(
                allow_private=self.settings.allow_private_urls,
                timeout=self.settings.webhook_timeout_seconds,
            )
            self._opened = (engine, session_factory(engine), client)
        return self._opened

    async def close(self) -> None:
        if self._opened is None:
            return
        engine, _, client = self._opened
        self._opened = None
        await client.aclose()
        await engine.dispose()

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._open()[1]

    async def sweep(self) -> SweepReport:
        """One outbox pass (torale.webhooks.outbox), enqueuing on this worker's broker."""
        from torale.webhooks.outbox import sweep_once

        async def send(delivery_id: uuid.UUID, token: int) -> None:
            await enqueue_delivery(delivery_id, token, broker=self.broker)

        return await sweep_once(
            self.sessions, lease_seconds=self.settings.delivery_lease_seconds, send=send
        )

    async def _enqueue_retry(self, session: AsyncSession, step: DeliveryStep) -> None:
        """Enqueued before the commit: should the commit fail, the message's token no
        longer matches the row and it does nothing, while this message (unacknowledged,
        raising) is retried. Should Redis refuse it, the attempt is still recorded and the
        row left without a live message: the outbox sweeper sends it once it is due."""
        from torale.webhooks.outbox import forget_message

        try:
            assert step.token is not None
            await enqueue_delivery(step.delivery_id, step.token, step.retry_in, broker=self.broker)
        except Exception as exc:
            log.warning(
                "delivery %s: next attempt not enqueued (%s: %s); the sweeper will send it",
                step.delivery_id,
                type(exc).__name__,
                exc,
            )
            await forget_message(session, step.delivery_id)

    async def run(self, delivery_id: str, token: int | None) -> None:
        from torale.webhooks.delivery import deliver

        _, factory, client = self._open()
        async with factory() as session:
            try:
                step = await deliver(
                    session,
                    uuid.UUID(delivery_id),
                    settings=self.settings,
                    http_client=client,
                    token=token,
                    journal=factory,
                )
                if step.retry_in is not None and step.token is not None:
                    await self._enqueue_retry(session, step)
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        if step.skipped:
            log.info("delivery %s skipped: %s", delivery_id, step.skipped)
        else:
            log.info(
                "delivery %s attempt %s: %s%s",
                delivery_id,
                step.attempt_number,
                step.status,
                f", next in {step.retry_in:.1f}s" if step.retry_in is not None else "",
            )


class _CloseRuntime(Middleware):
    def __init__(self, runtime: DeliveryRuntime) -> None:
        self.runtime = runtime

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        thread = get_event_loop_thread()
        if thread is not None:
            try:
                thread.run_coroutine(self.runtime.close())
            except Exception:
                log.exception("could not close the delivery worker's resources")


def install_actor(broker: RedisBroker, settings: Settings) -> dramatiq.Actor:
    """Declare `webhook.deliver` on `broker`, delivering with `settings`."""
    runtime = DeliveryRuntime(settings, broker)
    # Stopped before the runtime's engine is closed (middleware run in order).
    broker.add_middleware(OutboxSweeper(runtime.sweep, settings.delivery_sweep_interval_seconds))
    broker.add_middleware(_CloseRuntime(runtime))

    async def deliver_message(delivery_id: str, token: int | None = None) -> None:
        await runtime.run(delivery_id, token)

    declare = dramatiq.actor(
        actor_name=ACTOR_NAME,
        queue_name=QUEUE_NAME,
        broker=broker,
        max_retries=ACTOR_MAX_RETRIES,
        min_backoff=ACTOR_MIN_BACKOFF_MS,
        max_backoff=ACTOR_MAX_BACKOFF_MS,
        time_limit=ACTOR_TIME_LIMIT_MS,
    )
    return declare(deliver_message)
