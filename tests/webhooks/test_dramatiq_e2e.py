"""End to end through a real Redis broker and real Dramatiq workers.

notify_condition_met -> Redis -> `webhook.deliver` in a worker -> the local receiver,
with retries as delayed messages, redelivery from the API, and a worker killed in the
middle of a delivery.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
from fanout_fixtures import FAST_RETRIES, running_worker
from fanout_helpers import make_condition_met, make_user, wait_for
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook
from webhook_receiver import Receiver

from torale.executions.models import Execution
from torale.secret_box import SecretBox
from torale.tasks.models import Task
from torale.webhooks import secrets as secret_store
from torale.webhooks.fanout import event_id_for, notify_condition_met
from torale.webhooks.models import Delivery, DeliveryAttempt

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(test_broker, fanout_settings) -> Iterator[dramatiq.Worker]:
    with running_worker(test_broker, fanout_settings) as running:
        yield running


async def _delivery(db, execution_id) -> Delivery:
    async with db() as session:
        return (
            await session.execute(select(Delivery).where(Delivery.execution_id == execution_id))
        ).scalar_one()


async def test_delivery_retries_and_redelivery_through_a_worker(
    worker, api_producer, client, make_account, db, fanout_settings, receiver: Receiver
) -> None:
    account = await make_account()
    task_id, execution_id = await make_condition_met(
        db, account.user_id, [{"type": "webhook", "url": receiver.url("/flaky")}]
    )
    lease = fanout_settings.delivery_lease_seconds
    await notify_condition_met(db, execution_id, enqueue=api_producer, lease_seconds=lease)
    # A second hand-off (the pipeline retrying) neither duplicates nor re-sends.
    await notify_condition_met(db, execution_id, enqueue=api_producer, lease_seconds=lease)

    async def succeeded() -> bool:
        return (await _delivery(db, execution_id)).status == "succeeded"

    await wait_for(succeeded)
    async with db() as session:
        box = SecretBox.from_settings(fanout_settings)
        secret = (await secret_store.get_or_create(session, account.user_id, box)).secret
        assert (await session.get(Execution, execution_id)).notification_sent is True
        assert (await session.get(Task, task_id)).last_notified_at is not None
    assert receiver.paths() == ["/flaky"] * 3
    for request in receiver.requests:
        assert Webhook(secret).verify(request.body, request.headers)["type"] == "condition_met"
        assert request.headers["webhook-id"] == event_id_for(execution_id)

    delivery = await _delivery(db, execution_id)
    listed = await client.get(
        f"/api/v1/tasks/{task_id}/webhook-deliveries", headers=account.headers
    )
    [item] = listed.json()["items"]
    assert [a["status_code"] for a in item["attempts"]] == [500, 500, 200]

    redelivered = await client.post(
        f"/api/v1/webhook-deliveries/{delivery.id}/redeliver", headers=account.headers
    )
    assert redelivered.status_code == 202
    assert redelivered.json()["status"] == "pending"
    assert redelivered.json()["event_id"] == delivery.event_id

    async def resent() -> bool:
        row = await _delivery(db, execution_id)
        return row.status == "succeeded" and row.attempt_count == 4

    await wait_for(resent)
    assert len(receiver.requests) == 4
    again = receiver.requests[-1]
    assert again.headers["webhook-id"] == event_id_for(execution_id)
    assert again.body == receiver.requests[0].body
    Webhook(secret).verify(again.body, again.headers)


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dramatiq",
                "--processes",
                "1",
                "--threads",
                "1",
                "workers.dramatiq_worker",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group: SIGKILL reaches the forked worker process too.
            start_new_session=True,
        )


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


async def test_a_worker_killed_mid_delivery_loses_nothing(
    test_broker,
    producer,
    fanout_settings,
    db,
    database_url: str,
    service_urls,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    user_id = await make_user(db)
    _, execution_id = await make_condition_met(
        db, user_id, [{"type": "webhook", "url": receiver.url("/slow")}]
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": service_urls.redis_url,
        "TORALE_ENVIRONMENT": "test",
        "TORALE_ALLOW_PRIVATE_URLS": "true",
        "TORALE_WEBHOOK_RETRY_SCHEDULE": FAST_RETRIES,
        "TORALE_DRAMATIQ_NAMESPACE": test_broker.namespace,
        "TORALE_DRAMATIQ_HEARTBEAT_TIMEOUT_MS": str(test_broker.heartbeat_timeout),
        "TORALE_DRAMATIQ_MAINTENANCE_CHANCE": "1000000",
    }
    log = tmp_path / "worker.log"
    await notify_condition_met(
        db, execution_id, enqueue=producer, lease_seconds=fanout_settings.delivery_lease_seconds
    )

    first = _start_worker(env, log)
    try:

        async def receiving() -> bool:
            return len(receiver.requests) >= 1

        await wait_for(receiving, within=30)
        # The receiver is still answering (it takes 2 s): kill the worker now.
        _kill(first)
    finally:
        _kill(first)
    row = await _delivery(db, execution_id)
    assert row.status == "pending" and row.attempt_count == 0

    second = _start_worker(env, log)
    try:

        async def succeeded() -> bool:
            return (await _delivery(db, execution_id)).status == "succeeded"

        await wait_for(succeeded, within=30)
    except AssertionError:
        raise AssertionError(log.read_text()) from None
    finally:
        _kill(second)
    row = await _delivery(db, execution_id)
    # The killed worker's attempt was recorded in_progress before it sent, and closed
    # as interrupted by the next holder of the row.
    async with db() as session:
        attempts = await session.execute(
            select(DeliveryAttempt.outcome)
            .where(DeliveryAttempt.delivery_id == row.id)
            .order_by(DeliveryAttempt.attempt_number)
        )
        assert list(attempts.scalars()) == ["interrupted", "success"]
    assert row.attempt_count == 2
    assert receiver.paths() == ["/slow", "/slow"]
    assert {r.headers["webhook-id"] for r in receiver.requests} == {event_id_for(execution_id)}
