"""The delivery outbox: what a sweep pass enqueues again, and what it leaves alone.

Passes run against the real database and a real Redis broker; the messages they put on
the queue are read back with the broker's own consumer.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import psycopg
import pytest
from fanout_fixtures import running_worker
from fanout_helpers import make_condition_met, make_user, wait_for
from sqlalchemy import select, update
from webhook_receiver import Receiver

from torale.config import Settings
from torale.db import unit_of_work
from torale.devstack.process import free_port
from torale.models_base import utcnow
from torale.webhooks.fanout import create_deliveries, notify_condition_met
from torale.webhooks.models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus
from torale.webhooks.outbox import SWEEP_LOCK_KEY, sweep_once
from torale.webhooks.queue import (
    QUEUE_NAME,
    BrokerOptions,
    DeliveryRuntime,
    build_broker,
    enqueue_delivery,
    send_delivery,
)

LEASE = 30.0


def _queued(broker) -> list[tuple[str, int | None]]:
    """Take every message off the queue: (delivery id, token) of each."""
    consumer = broker.consume(QUEUE_NAME, prefetch=100, timeout=100)
    found = []
    try:
        misses = 0
        while misses < 3:
            message = next(consumer)
            if message is None:
                misses += 1
                continue
            found.append(tuple(message.args))
            consumer.ack(message)
    finally:
        consumer.close()
    return found


async def _sweep(db, broker):
    async def send(delivery_id: uuid.UUID, token: int) -> None:
        await enqueue_delivery(delivery_id, token, broker=broker)

    return await sweep_once(db, lease_seconds=LEASE, send=send)


async def _deliveries(db, count: int, url: str = "http://127.0.0.1:9/hook") -> list[uuid.UUID]:
    """`count` committed pending deliveries that were never put on the queue."""
    user_id = await make_user(db)
    ids = []
    for _ in range(count):
        _, execution_id = await make_condition_met(db, user_id, [{"type": "webhook", "url": url}])
        async with unit_of_work(db) as session:
            [row] = await create_deliveries(session, execution_id)
            ids.append(row.id)
    return ids


async def _set(db, delivery_id, **values) -> None:
    async with unit_of_work(db) as session:
        await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


async def _row(db, delivery_id) -> Delivery:
    async with db() as session:
        return await session.get(Delivery, delivery_id)


async def test_a_pass_enqueues_only_stranded_deliveries(db, test_broker) -> None:
    never_sent, lease_live, lease_expired, not_due, succeeded = await _deliveries(db, 5)
    now = utcnow()
    await _set(db, lease_live, enqueued_at=now, lease_expires_at=now + timedelta(seconds=60))
    await _set(db, lease_expired, enqueued_at=now, lease_expires_at=now - timedelta(seconds=1))
    await _set(db, not_due, next_attempt_at=now + timedelta(minutes=5))
    await _set(db, succeeded, status=DeliveryStatus.SUCCEEDED, attempt_count=1)

    report = await _sweep(db, test_broker)

    assert report.enqueued == 2 and not report.busy and report.error is None
    assert sorted(_queued(test_broker)) == sorted([(str(never_sent), 0), (str(lease_expired), 0)])
    swept = await _row(db, never_sent)
    assert swept.enqueued_at is not None
    assert swept.lease_expires_at >= swept.enqueued_at + timedelta(seconds=LEASE - 1)
    # The new lease makes the next pass leave them alone.
    assert (await _sweep(db, test_broker)).enqueued == 0
    assert _queued(test_broker) == []


async def test_the_hand_off_stamps_a_lease_so_a_pass_does_not_repeat_it(
    db, test_broker, producer
) -> None:
    user_id = await make_user(db)
    _, execution_id = await make_condition_met(
        db, user_id, [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]
    )
    await notify_condition_met(db, execution_id, enqueue=producer, lease_seconds=LEASE)
    assert len(_queued(test_broker)) == 1
    assert (await _sweep(db, test_broker)).enqueued == 0


async def test_one_pass_at_a_time(db, test_broker, database_url: str) -> None:
    [delivery_id] = await _deliveries(db, 1)
    with psycopg.connect(database_url, autocommit=True) as other:
        # Another pass (another worker process) holds the sweep lock.
        other.execute("SELECT pg_advisory_lock(%s)", (SWEEP_LOCK_KEY,))
        report = await _sweep(db, test_broker)
        assert report.busy and report.enqueued == 0
        assert _queued(test_broker) == []
        other.execute("SELECT pg_advisory_unlock(%s)", (SWEEP_LOCK_KEY,))
    assert (await _sweep(db, test_broker)).enqueued == 1
    assert _queued(test_broker) == [(str(delivery_id), 0)]


async def test_a_delivery_being_attempted_is_not_swept(db, test_broker, database_url) -> None:
    [delivery_id] = await _deliveries(db, 1)
    with psycopg.connect(database_url) as worker:
        # What a worker holds for the length of an attempt.
        worker.execute("SELECT id FROM deliveries WHERE id = %s FOR NO KEY UPDATE", (delivery_id,))
        assert (await _sweep(db, test_broker)).enqueued == 0
        worker.rollback()
    assert (await _sweep(db, test_broker)).enqueued == 1


async def test_a_pass_closes_an_attempt_a_dead_worker_left_open(db, test_broker) -> None:
    [delivery_id] = await _deliveries(db, 1)
    async with unit_of_work(db) as session:
        session.add(
            DeliveryAttempt(
                delivery_id=delivery_id,
                attempt_number=1,
                outcome=AttemptOutcome.IN_PROGRESS,
                created_at=utcnow(),
            )
        )

    report = await _sweep(db, test_broker)

    assert report.enqueued == 1 and report.interrupted == 1
    row = await _row(db, delivery_id)
    assert row.status == DeliveryStatus.PENDING
    assert row.attempt_count == 1 and row.series_attempts == 1
    # The message carries the count after the interrupted attempt.
    assert _queued(test_broker) == [(str(delivery_id), 1)]
    async with db() as session:
        attempt = (
            await session.execute(
                select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
            )
        ).scalar_one()
    assert attempt.outcome == AttemptOutcome.INTERRUPTED
    assert "stopped" in attempt.error


async def test_a_failed_send_keeps_the_rest_for_the_next_pass(db) -> None:
    ids = await _deliveries(db, 3)
    sent: list[uuid.UUID] = []

    async def send(delivery_id: uuid.UUID, token: int) -> None:
        if len(sent) == 1:
            raise ConnectionError("Redis is down")
        sent.append(delivery_id)

    report = await sweep_once(db, lease_seconds=LEASE, send=send)

    assert report.enqueued == 1 and "Redis is down" in report.error
    leased = [(await _row(db, i)).lease_expires_at is not None for i in ids]
    assert leased.count(True) == 1
    assert (await _row(db, sent[0])).lease_expires_at is not None


# --- through a worker: the sweeper it runs, and stale messages


@pytest.fixture
def swept_worker(test_broker, fanout_settings):
    """An in-process Dramatiq worker sweeping every 0.3 s with a 0.5 s lease."""
    settings = fanout_settings.model_copy(
        update={"delivery_sweep_interval_seconds": 0.3, "delivery_lease_seconds": 0.5}
    )
    with running_worker(test_broker, settings) as running:
        yield running


async def test_the_worker_sweeps_a_delivery_whose_message_never_made_it(
    swept_worker, db, receiver: Receiver
) -> None:
    # Committed, never enqueued: the hand-off died between its commit and Redis.
    [delivery_id] = await _deliveries(db, 1, receiver.url("/ok"))

    async def succeeded() -> bool:
        return (await _row(db, delivery_id)).status == DeliveryStatus.SUCCEEDED

    await wait_for(succeeded, within=20)
    assert receiver.paths() == ["/ok"]


async def test_a_stale_message_replayed_after_success_sends_nothing(
    swept_worker, test_broker, producer, db, receiver: Receiver
) -> None:
    user_id = await make_user(db)
    _, execution_id = await make_condition_met(
        db, user_id, [{"type": "webhook", "url": receiver.url("/ok")}]
    )
    await notify_condition_met(db, execution_id, enqueue=producer, lease_seconds=LEASE)
    async with db() as session:
        row = (
            await session.execute(select(Delivery).where(Delivery.execution_id == execution_id))
        ).scalar_one()

    async def succeeded() -> bool:
        return (await _row(db, row.id)).status == DeliveryStatus.SUCCEEDED

    await wait_for(succeeded, within=20)
    # The very message that was delivered (token 0), again, and one without a token.
    send_delivery(row.id, 0, broker=test_broker)
    send_delivery(row.id, None, broker=test_broker)  # type: ignore[arg-type]
    await asyncio.to_thread(test_broker.join, QUEUE_NAME, timeout=20_000)
    # Several sweeps (every 0.3 s) pass over the succeeded row as well.
    await asyncio.sleep(1.5)
    final = await _row(db, row.id)
    assert final.status == DeliveryStatus.SUCCEEDED and final.attempt_count == 1
    assert receiver.paths() == ["/ok"]
    async with db() as session:
        attempts = await session.execute(
            select(DeliveryAttempt.outcome).where(DeliveryAttempt.delivery_id == row.id)
        )
        assert list(attempts.scalars()) == ["success"]


async def test_a_retry_redis_refuses_is_recorded_and_left_to_the_sweep(
    db, fanout_settings, test_broker, receiver: Receiver
) -> None:
    [delivery_id] = await _deliveries(db, 1, receiver.url("/fail"))
    # A real Redis client facing a port nothing listens on: Redis is down.
    down = build_broker(f"redis://127.0.0.1:{free_port()}/0", BrokerOptions(namespace="down"))
    runtime = DeliveryRuntime(fanout_settings, down)
    try:
        await runtime.run(str(delivery_id), 0)
    finally:
        await runtime.close()
        down.close()

    row = await _row(db, delivery_id)
    # The attempt that was made stays on record; no message is live for the next one.
    assert row.status == DeliveryStatus.PENDING and row.attempt_count == 1
    assert row.lease_expires_at is None
    async with db() as session:
        outcomes = await session.execute(
            select(DeliveryAttempt.outcome).where(DeliveryAttempt.delivery_id == delivery_id)
        )
        assert list(outcomes.scalars()) == ["retry"]
    assert receiver.paths() == ["/fail"]

    async def swept() -> bool:
        # Due after the 0.2 s retry delay: the next pass sends it, with the new count.
        return (await _sweep(db, test_broker)).enqueued == 1

    await wait_for(swept, within=10, interval=0.1)
    assert _queued(test_broker) == [(str(delivery_id), 1)]


async def test_a_redelivery_stamps_its_message_so_a_pass_leaves_it(
    client, make_account, db, test_broker, api_producer
) -> None:
    account = await make_account()
    _, execution_id = await make_condition_met(
        db, account.user_id, [{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]
    )
    async with unit_of_work(db) as session:
        [row] = await create_deliveries(session, execution_id)
    await _set(db, row.id, status=DeliveryStatus.FAILED, attempt_count=3, next_attempt_at=None)

    response = await client.post(
        f"/api/v1/webhook-deliveries/{row.id}/redeliver", headers=account.headers
    )

    assert response.status_code == 202, response.text
    assert _queued(test_broker) == [(str(row.id), 3)]
    assert (await _row(db, row.id)).lease_expires_at > utcnow()
    assert (await _sweep(db, test_broker)).enqueued == 0


def test_the_default_settings_keep_the_promised_bound() -> None:
    """README: a stranded delivery is attempted within lease + sweep interval, under 60 s."""
    settings = Settings(environment="test")
    assert settings.delivery_lease_seconds + settings.delivery_sweep_interval_seconds < 60
