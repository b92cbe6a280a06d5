"""The delivery outbox: a committed `pending` delivery row is what must be delivered; a
message on the queue is only the prompt to do it now.

Liveness is explicit. Whoever puts a message on the queue stamps the row in the same
transaction (`stamp_enqueued`): `enqueued_at`, and `lease_expires_at` = when the message
is due plus the lease. A pending delivery that is due and whose lease has run out is
*stranded*: its message was never sent (Redis down at the hand-off), was lost, or is
held by a worker that died. `sweep_once` enqueues each stranded delivery again.

- A worker attempting a delivery holds the row lock (torale.webhooks.delivery) for the
  whole attempt, and the sweep skips locked rows: a delivery being attempted is never
  swept, however long the attempt takes, and a dead worker's lock goes with its
  connection.
- One pass at a time: a pass takes a transaction-level advisory lock and does nothing
  when another pass holds it (every Dramatiq worker process runs the sweeper).
- A repeated message is harmless: it carries the row's attempt_count as its token, and
  only one message per token makes an attempt (the others find the count moved on).
- An attempt a dead worker left `in_progress` is closed as `interrupted` by whoever next
  holds the row lock, the sweep or the next attempt (`close_interrupted_attempts`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

import torale.models  # noqa: F401 - every table, so foreign keys resolve in a lone worker
from torale.db import unit_of_work
from torale.models_base import utcnow
from torale.webhooks.models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus

# pg_try_advisory_xact_lock key of a sweep pass (any fixed 64-bit number of our own).
SWEEP_LOCK_KEY = 0x746F72616C65_01
# Stranded deliveries enqueued per pass; a full pass is followed by another at once.
SWEEP_BATCH = 200
INTERRUPTED_ERROR = "The worker stopped before the attempt's outcome was recorded"

Send = Callable[[uuid.UUID, int], Awaitable[None]]


def lease_until(lease_seconds: float, due_at: datetime | None, now: datetime) -> datetime:
    """Until when a message due at `due_at` (now when unset or past) counts as live."""
    start = max(now, due_at) if due_at is not None else now
    return start + timedelta(seconds=lease_seconds)


def stamp_enqueued(row: Delivery, lease_seconds: float, now: datetime | None = None) -> None:
    """Record that a message for the row's next attempt is (about to be) on the queue."""
    now = now or utcnow()
    row.enqueued_at = now
    row.lease_expires_at = lease_until(lease_seconds, row.next_attempt_at, now)


async def forget_message(session: AsyncSession, delivery_id: uuid.UUID) -> None:
    """The message stamped for the row's next attempt never reached the queue: leave the
    row with no lease, so the sweep sends it as soon as it is due."""
    await session.execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id)
        .values(enqueued_at=None, lease_expires_at=None)
    )


async def lock_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> Delivery | None:
    """The delivery's row, locked and read afresh. NO KEY UPDATE: it excludes attempts,
    redeliveries and the sweep, and lets an attempt's journal insert (a foreign key's
    KEY SHARE lock) through."""
    return (
        await session.execute(
            select(Delivery)
            .where(col(Delivery.id) == delivery_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


def is_due(now: datetime) -> Any:
    return and_(
        col(Delivery.status) == DeliveryStatus.PENDING,
        or_(col(Delivery.next_attempt_at).is_(None), col(Delivery.next_attempt_at) <= now),
    )


def is_stranded(now: datetime) -> Any:
    """Due, and no message counts as live for it any more."""
    return and_(
        is_due(now),
        or_(col(Delivery.lease_expires_at).is_(None), col(Delivery.lease_expires_at) <= now),
    )


async def close_interrupted_attempts(session: AsyncSession, row: Delivery) -> int:
    """Mark the row's `in_progress` attempts interrupted. Call holding the row lock: the
    attempt's own transaction holds that lock until it records the outcome, so an open
    attempt seen under the lock belongs to a worker that is gone. Flushes."""
    found = await session.execute(
        select(DeliveryAttempt).where(
            col(DeliveryAttempt.delivery_id) == row.id,
            col(DeliveryAttempt.outcome) == AttemptOutcome.IN_PROGRESS,
        )
    )
    attempts = list(found.scalars())
    if not attempts:
        return 0
    for attempt in attempts:
        attempt.outcome = AttemptOutcome.INTERRUPTED
        attempt.error = INTERRUPTED_ERROR
    # They were made (the request may have reached the receiver): they count, and the
    # numbering continues after them. Messages carrying the old count become stale.
    row.attempt_count = max(row.attempt_count, *(a.attempt_number for a in attempts))
    row.series_attempts += len(attempts)
    row.updated_at = utcnow()
    await session.flush()
    return len(attempts)


@dataclass
class SweepReport:
    enqueued: int = 0
    interrupted: int = 0
    # Another pass held the lock: this one did nothing.
    busy: bool = False
    # The batch was full: more stranded deliveries may be waiting.
    more: bool = False
    error: str | None = None

    def __str__(self) -> str:
        if self.busy:
            return "another sweep is running"
        text = f"{self.enqueued} stranded deliveries enqueued again"
        if self.interrupted:
            text += f", {self.interrupted} interrupted attempts closed"
        if self.error:
            text += f"; stopped: {self.error}"
        return text


async def sweep_once(
    sessions: async_sessionmaker[AsyncSession],
    *,
    lease_seconds: float,
    send: Send,
    batch: int = SWEEP_BATCH,
) -> SweepReport:
    """One pass: enqueue every stranded delivery again (up to `batch`).

    A send that fails (Redis down) ends the pass; the rows sent so far keep their new
    lease, the others stay stranded for the next pass.
    """
    report = SweepReport()
    async with unit_of_work(sessions) as session:
        locked = await session.scalar(select(func.pg_try_advisory_xact_lock(SWEEP_LOCK_KEY)))
        if not locked:
            report.busy = True
            return report
        now = utcnow()
        rows = list(
            (
                await session.execute(
                    select(Delivery)
                    .where(is_stranded(now))
                    .order_by(col(Delivery.next_attempt_at))
                    .limit(batch)
                    # A row locked by a worker is being attempted right now: not stranded.
                    .with_for_update(skip_locked=True, key_share=True)
                    .execution_options(populate_existing=True)
                )
            ).scalars()
        )
        report.more = len(rows) == batch
        for row in rows:
            report.interrupted += await close_interrupted_attempts(session, row)
            try:
                await send(row.id, row.attempt_count)
            except Exception as exc:
                report.error = f"{type(exc).__name__}: {exc}"
                report.more = False
                break
            stamp_enqueued(row, lease_seconds, now)
            report.enqueued += 1
        await session.flush()
    return report


async def delivery_figures(session: AsyncSession) -> dict[str, Any]:
    """What operators watch (/admin/stats): one aggregate query over the deliveries."""
    now = utcnow()
    pending = col(Delivery.status) == DeliveryStatus.PENDING
    row = (
        await session.execute(
            select(
                func.count().filter(pending, col(Delivery.attempt_count) == 0).label("pending"),
                func.count().filter(pending, col(Delivery.attempt_count) > 0).label("retrying"),
                func.count().filter(col(Delivery.status) == DeliveryStatus.FAILED).label("failed"),
                func.count().filter(is_stranded(now)).label("stranded"),
                func.min(Delivery.next_attempt_at).filter(is_due(now)).label("oldest_due_at"),
            )
        )
    ).one()
    oldest = row.oldest_due_at
    return {
        "pending": row.pending,
        "retrying": row.retrying,
        "failed": row.failed,
        "stranded": row.stranded,
        "oldest_due_age_seconds": max(0.0, (now - oldest).total_seconds()) if oldest else None,
    }
