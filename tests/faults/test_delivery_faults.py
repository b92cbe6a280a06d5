"""Fault injection on the delivery path, with real processes and real signals.

Each case runs `torale worker dramatiq` as a real process, a webhook receiver that counts
requests by `webhook-id`, and breaks something with SIGKILL:

- Redis killed during the hand-off: a private Redis (the embedded one `torale dev`
  runs) is SIGKILLed, hand-offs fail after their rows committed, Redis comes back on
  the same port.
- The same through the real pipeline: executions run by a Temporal worker hand off
  while Redis is dead.
- The Dramatiq worker SIGKILLed mid-delivery: the receiver stalls, so the worker is
  waiting for answers (and holds prefetched messages) when it dies; a new worker starts.
- The Dramatiq worker SIGKILLed holding delayed retries (first attempts answered 500).

The broker's own requeue of a dead worker's messages is made practically impossible
(10-minute heartbeat, maintenance chance 1 per million): recovery must come from the
outbox sweeper, on the short interval and lease set here. Every case asserts deliveries
lost = 0, succeeded deliveries repeated = 0, stuck = 0, and prints its counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from delivery_receiver import CountingReceiver, counting_receiver
from redis.exceptions import RedisError
from sqlalchemy import func, select

from tests.executions.execution_helpers import CHAT, evaluation, script_search
from tests.webhooks.fanout_helpers import make_condition_met, make_user, wait_for
from torale.config import Settings
from torale.devstack.process import free_port
from torale.devstack.redis import EmbeddedRedis
from torale.executions.models import Execution, ExecutionStatus
from torale.webhooks import queue
from torale.webhooks.fanout import event_id_for, notify_condition_met
from torale.webhooks.models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus

ROOT = Path(__file__).resolve().parents[2]
SWEEP_INTERVAL = 1.0
LEASE = 3.0
# The README's promise with the default settings; with the settings here recovery is
# expected within LEASE + SWEEP_INTERVAL plus the worker's own start-up.
BOUND_SECONDS = 60.0
pytestmark = pytest.mark.timeout(240)


@dataclass
class FaultCounts:
    case: str
    deliveries: int
    attempts: int
    interrupted: int
    requests: int
    lost: int
    duplicated: int
    stuck: int
    recovery_seconds: float

    def __str__(self) -> str:
        return (
            f"FAULT CASE | {self.case} | deliveries {self.deliveries} | attempts "
            f"{self.attempts} (interrupted {self.interrupted}) | receiver requests "
            f"{self.requests} | lost {self.lost} | duplicated {self.duplicated} | stuck "
            f"{self.stuck} | recovered in {self.recovery_seconds:.1f}s"
        )


class WorkerProcess:
    """`torale worker dramatiq` in its own process group (SIGKILL reaches its forks)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "torale", "worker", "dramatiq", "--threads", "2"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        self._signal(signal.SIGKILL, wait=10)

    def stop(self) -> None:
        try:
            self._signal(signal.SIGTERM, wait=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, sig: int, wait: float) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=wait)
        if sig == signal.SIGKILL:
            # The forked worker process is in the group too: make sure it is gone.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _worker_env(
    database_url: str,
    redis_url: str,
    namespace: str,
    data_dir: Path,
    *,
    lease: float = LEASE,
    interval: float = SWEEP_INTERVAL,
    retry_schedule: str = "0.5,0.5,0.5",
) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TORALE_ENVIRONMENT": "test",
        "TORALE_DATA_DIR": str(data_dir),
        "TORALE_SECRET_KEY": "test-only-secret-key-that-seals-webhook-secrets",
        "TORALE_ALLOW_PRIVATE_URLS": "true",
        "TORALE_WEBHOOK_TIMEOUT_SECONDS": "90",
        "TORALE_WEBHOOK_RETRY_SCHEDULE": retry_schedule,
        "TORALE_DRAMATIQ_NAMESPACE": namespace,
        "TORALE_DRAMATIQ_HEARTBEAT_TIMEOUT_MS": "600000",
        "TORALE_DRAMATIQ_MAINTENANCE_CHANCE": "1",
        "TORALE_DELIVERY_SWEEP_INTERVAL_SECONDS": str(interval),
        "TORALE_DELIVERY_LEASE_SECONDS": str(lease),
    }


@dataclass
class DeliveryCase:
    """A case's own Dramatiq namespace on a Redis: the producer for the hand-offs made in
    this process, and the environment of its worker processes."""

    enqueue: queue.DeliveryProducer
    env: dict
    log: Path

    def worker(self) -> WorkerProcess:
        return WorkerProcess(self.env, self.log)


@pytest.fixture
def open_case(database_url: str, tmp_path: Path) -> Iterator[Callable[..., DeliveryCase]]:
    """`open_case(redis_url, **worker settings)`: a `DeliveryCase` on a Redis the test
    chooses (settings as `_worker_env` takes them)."""
    brokers = []

    def open_(redis_url: str, **settings: Any) -> DeliveryCase:
        namespace = f"torale-faults-{uuid.uuid4().hex[:8]}"
        broker = queue.build_broker(redis_url, queue.BrokerOptions(namespace=namespace))
        brokers.append(broker)
        env = _worker_env(database_url, redis_url, namespace, tmp_path / "data", **settings)
        return DeliveryCase(queue.DeliveryProducer(broker), env, tmp_path / "worker.log")

    try:
        yield open_
    finally:
        for broker in brokers:
            # Whatever the case left queued in its namespace goes with it (a private
            # Redis the case has stopped already took it along).
            with contextlib.suppress(RedisError):
                keys = broker.client.keys(f"{broker.namespace}*")
                if keys:
                    broker.client.delete(*keys)
            broker.close()


class PrivateRedis:
    """The embedded Redis `torale dev` runs, on a port of its own: SIGKILLed by a case,
    then brought back at the same URL."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.server = EmbeddedRedis(directory, port=self.port)
        self.url = self.server.start()

    def kill(self) -> None:
        assert self.server.pid is not None
        os.kill(self.server.pid, signal.SIGKILL)
        self.server.stop()

    def restart(self) -> None:
        self.server = EmbeddedRedis(self.directory, port=self.port)
        assert self.server.start() == self.url

    def stop(self) -> None:
        self.server.stop()


async def _condition_met_executions(db, count: int, url: str) -> list[uuid.UUID]:
    user_id = await make_user(db)
    found = []
    for _ in range(count):
        _, execution_id = await make_condition_met(db, user_id, [{"type": "webhook", "url": url}])
        found.append(execution_id)
    return found


async def _handed_off(
    db, count: int, url: str, lease: float, enqueue: queue.DeliveryProducer
) -> list[uuid.UUID]:
    """`count` condition-met executions whose deliveries were handed off to the queue."""
    executions = await _condition_met_executions(db, count, url)
    for execution_id in executions:
        await notify_condition_met(db, execution_id, enqueue=enqueue, lease_seconds=lease)
    return executions


async def _statuses(db, execution_ids: list[uuid.UUID]) -> list[str]:
    async with db() as session:
        rows = await session.execute(
            select(Delivery.status).where(Delivery.execution_id.in_(execution_ids))
        )
        return list(rows.scalars())


async def _all_succeeded(db, execution_ids: list[uuid.UUID], within: float, log) -> float:
    started = time.monotonic()

    async def done() -> bool:
        statuses = await _statuses(db, execution_ids)
        return len(statuses) == len(execution_ids) and set(statuses) == {"succeeded"}

    try:
        await wait_for(done, within=within, interval=0.2)
    except AssertionError:
        raise AssertionError(
            f"deliveries {await _statuses(db, execution_ids)} not all succeeded within "
            f"{within}s; worker log:\n{log()}"
        ) from None
    return time.monotonic() - started


async def _counts(
    db,
    case: str,
    execution_ids: list[uuid.UUID],
    receiver: CountingReceiver,
    recovery: float,
) -> FaultCounts:
    async with db() as session:
        deliveries = list(
            (
                await session.execute(
                    select(Delivery).where(Delivery.execution_id.in_(execution_ids))
                )
            ).scalars()
        )
        outcomes = list(
            (
                await session.execute(
                    select(DeliveryAttempt.outcome).where(
                        DeliveryAttempt.delivery_id.in_([d.id for d in deliveries])
                    )
                )
            ).scalars()
        )
        running = await session.scalar(
            select(func.count()).where(Execution.status == ExecutionStatus.RUNNING)
        )
    answered = receiver.succeeded_ids()
    counts = FaultCounts(
        case=case,
        deliveries=len(execution_ids),
        attempts=len(outcomes),
        interrupted=outcomes.count(AttemptOutcome.INTERRUPTED),
        requests=receiver.total_requests,
        # An event the receiver never answered with a success, or a row not recorded so.
        lost=len(execution_ids)
        - len({d.event_id for d in deliveries if d.event_id in answered})
        + sum(d.status != DeliveryStatus.SUCCEEDED for d in deliveries),
        duplicated=receiver.duplicated,
        stuck=sum(d.status == DeliveryStatus.PENDING for d in deliveries)
        + outcomes.count(AttemptOutcome.IN_PROGRESS)
        + (running or 0),
        recovery_seconds=recovery,
    )
    print(f"\n{counts}")
    return counts


async def _judged(
    db,
    case: str,
    execution_ids: list[uuid.UUID],
    receiver: CountingReceiver,
    recovery: float,
    record_property,
) -> FaultCounts:
    """The case's counts, recorded: nothing lost, repeated or stuck, recovered within the
    bound, and one event per execution at the receiver (repeats kept its webhook-id)."""
    counts = await _counts(db, case, execution_ids, receiver, recovery)
    record_property("fault_counts", str(counts))
    assert counts.lost == 0, counts
    assert counts.duplicated == 0, counts
    assert counts.stuck == 0, counts
    assert counts.recovery_seconds <= BOUND_SECONDS, counts
    assert set(receiver.events) == {event_id_for(e) for e in execution_ids}
    return counts


async def _worker_killed_then_replaced(
    db,
    case: DeliveryCase,
    execution_ids: list[uuid.UUID],
    *,
    kill_when: Callable[[], Awaitable[bool]],
    poll: float,
    settle: float,
    grace: float = 0.0,
    after_kill: Callable[[], object] | None = None,
) -> float:
    """A worker delivers `execution_ids` until `kill_when()` holds (and `grace` seconds
    more), then is SIGKILLed with none of them delivered; a new worker recovers them.
    Returns the recovery time, after `settle` seconds more for a wrong repeat to show."""
    first, second = case.worker(), case.worker()
    try:
        first.start()
        await wait_for(kill_when, within=60, interval=poll)
        await asyncio.sleep(grace)
        first.kill()
        if after_kill is not None:
            after_kill()
        assert await _statuses(db, execution_ids) == ["pending"] * len(execution_ids)

        second.start()
        recovery = await _all_succeeded(db, execution_ids, BOUND_SECONDS, second.tail)
        await asyncio.sleep(settle)
        return recovery
    finally:
        first.kill()
        second.stop()


async def test_redis_killed_during_hand_off(db, open_case, tmp_path: Path, record_property) -> None:
    redis = PrivateRedis(tmp_path / "redis")
    case = open_case(redis.url)
    worker = case.worker()
    with counting_receiver() as receiver:
        try:
            worker.start()
            before = await _handed_off(db, 3, receiver.url("/ok"), LEASE, case.enqueue)
            await _all_succeeded(db, before, BOUND_SECONDS, worker.tail)

            redis.kill()
            # Executions finish while Redis is gone: each hand-off commits its delivery
            # rows, then fails to enqueue (the activity would retry and give up).
            during = await _condition_met_executions(db, 5, receiver.url("/ok"))
            failed_hand_offs = 0
            for execution_id in during:
                try:
                    await notify_condition_met(
                        db, execution_id, enqueue=case.enqueue, lease_seconds=LEASE
                    )
                except Exception:
                    failed_hand_offs += 1
            assert failed_hand_offs == len(during)
            assert await _statuses(db, during) == ["pending"] * len(during)
            # The worker's sweeps fail meanwhile, and nothing is attempted.
            await asyncio.sleep(LEASE + 2 * SWEEP_INTERVAL)
            assert await _statuses(db, during) == ["pending"] * len(during)

            redis.restart()
            recovery = await _all_succeeded(db, before + during, BOUND_SECONDS, worker.tail)
            # Room for a wrong repeat to show: several leases and sweeps.
            await asyncio.sleep(2 * LEASE + 2 * SWEEP_INTERVAL)
        finally:
            worker.stop()
            redis.stop()
        counts = await _judged(
            db, "Redis killed during hand-off", before + during, receiver, recovery, record_property
        )
    # One request per event: the outage cost no attempt.
    assert counts.requests == counts.deliveries


async def test_redis_killed_while_executions_hand_off(
    make_stack,
    make_account,
    llm,
    searx,
    db,
    open_case,
    tmp_path: Path,
    record_property,
) -> None:
    """The same outage through the real pipeline: executions run by a Temporal worker
    (the API's `execute`, search and LLM peers), whose hand-off activity retries against
    the dead Redis and gives up, while the execution succeeds."""
    redis = PrivateRedis(tmp_path / "redis")
    # The hand-off of the in-process Temporal worker goes to the private Redis.
    case = open_case(redis.url)
    script_search(searx)
    # The same facts every time: no change summary is asked for.
    llm.script("POST", CHAT, *[evaluation(True, answer="Sept 19", state={"d": 19})] * 3)
    worker = case.worker()
    account = await make_account()
    with counting_receiver() as receiver:
        try:
            worker.start()
            async with make_stack(delivery_lease_seconds=LEASE, deliveries=case.enqueue) as stack:
                task = await stack.create_task(
                    account.headers,
                    notify_behavior="always",
                    notifications=[{"type": "webhook", "url": receiver.url("/ok")}],
                )
                runs = [await stack.run(account.headers, task["id"])]
                await _all_succeeded(db, _ids(runs), BOUND_SECONDS, worker.tail)

                redis.kill()
                during = [await stack.run(account.headers, task["id"]) for _ in range(2)]
                assert [r["status"] for r in during] == ["success"] * 2

                async def handed_off() -> bool:
                    # Recorded by the hand-off (after the execution's success), which
                    # then fails to enqueue them: committed, unattempted.
                    return await _statuses(db, _ids(during)) == ["pending"] * 2

                await wait_for(handed_off, within=60, interval=0.2)
                await asyncio.sleep(LEASE + 2 * SWEEP_INTERVAL)

                redis.restart()
                runs += during
                recovery = await _all_succeeded(db, _ids(runs), BOUND_SECONDS, worker.tail)
                await asyncio.sleep(2 * LEASE + 2 * SWEEP_INTERVAL)
        finally:
            worker.stop()
            redis.stop()
        counts = await _judged(
            db,
            "Redis killed while executions hand off",
            _ids(runs),
            receiver,
            recovery,
            record_property,
        )
    assert counts.requests == counts.deliveries


def _ids(runs: list[dict]) -> list[uuid.UUID]:
    return [uuid.UUID(r["id"]) for r in runs]


_DEFAULTS = Settings.model_fields


@pytest.mark.parametrize(
    ("lease", "interval"),
    [
        (LEASE, SWEEP_INTERVAL),
        # The production defaults: the README's bound measured, not computed.
        (
            _DEFAULTS["delivery_lease_seconds"].default,
            _DEFAULTS["delivery_sweep_interval_seconds"].default,
        ),
    ],
    ids=["short-lease", "default-lease"],
)
async def test_dramatiq_worker_killed_mid_delivery(
    db, service_urls, open_case, record_property, lease: float, interval: float
) -> None:
    case = open_case(service_urls.redis_url, lease=lease, interval=interval)
    with counting_receiver() as receiver:
        executions = await _handed_off(db, 4, receiver.url("/stall-first"), lease, case.enqueue)

        async def both_threads_waiting() -> bool:
            # Two requests in flight, the other two messages prefetched by this worker.
            return receiver.stalled >= 2

        recovery = await _worker_killed_then_replaced(
            db,
            case,
            executions,
            kill_when=both_threads_waiting,
            poll=0.1,
            after_kill=receiver.release.set,
            settle=min(2 * lease + 2 * interval, 8),
        )
        counts = await _judged(
            db,
            f"Dramatiq worker SIGKILLed mid-delivery (lease {lease:g}s, sweep {interval:g}s)",
            executions,
            receiver,
            recovery,
            record_property,
        )
    # The two interrupted attempts are on record; each event reached the receiver twice
    # at most (the interrupted request, then the one answered).
    assert counts.interrupted == 2
    assert all(e.requests <= 2 and e.successes == 1 for e in receiver.events.values())


async def test_dramatiq_worker_killed_holding_retries(
    db, service_urls, open_case, record_property
) -> None:
    """Each first attempt fails (500): the worker holds the delayed retry messages in
    memory (Dramatiq's delay queue) when it is killed; a new worker sends the retries."""
    case = open_case(service_urls.redis_url, retry_schedule="2,2,2")
    with counting_receiver() as receiver:
        executions = await _handed_off(db, 3, receiver.url("/fail-first"), LEASE, case.enqueue)

        async def all_failed_once() -> bool:
            async with db() as session:
                counts = await session.execute(
                    select(Delivery.attempt_count).where(Delivery.execution_id.in_(executions))
                )
                return list(counts.scalars()) == [1, 1, 1]

        recovery = await _worker_killed_then_replaced(
            db,
            case,
            executions,
            kill_when=all_failed_once,
            poll=0.05,
            # Time for its delay-queue consumer to take the retries (due in 2 s) in hand.
            grace=0.5,
            settle=2 * LEASE + 2 * SWEEP_INTERVAL,
        )
        counts = await _judged(
            db,
            "Dramatiq worker SIGKILLed holding delayed retries",
            executions,
            receiver,
            recovery,
            record_property,
        )
    # One failed and one successful attempt each: the kill cost no attempt.
    assert counts.attempts == counts.requests == 6 and counts.interrupted == 0
