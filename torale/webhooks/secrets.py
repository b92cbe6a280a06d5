"""Per-user webhook signing secrets: created on first use, rotated with a grace period."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from torale.models_base import utcnow
from torale.webhooks.models import WebhookSecret
from torale.webhooks.signing import generate_secret


async def get_or_create(
    session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False
) -> WebhookSecret:
    # ON CONFLICT DO NOTHING: two first uses at once (API and a worker) agree on one secret.
    await session.execute(
        insert(WebhookSecret)
        .values(user_id=user_id, secret=generate_secret())
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    query = select(WebhookSecret).where(WebhookSecret.user_id == user_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query.execution_options(populate_existing=True))).scalar_one()
    return row


async def rotate(session: AsyncSession, user_id: uuid.UUID, grace_seconds: int) -> WebhookSecret:
    """A new current secret; the old one keeps signing for `grace_seconds`."""
    row = await get_or_create(session, user_id, for_update=True)
    now = utcnow()
    row.previous_secret = row.secret
    row.previous_valid_until = now + timedelta(seconds=grace_seconds)
    row.secret = generate_secret()
    row.rotated_at = now
    await session.flush()
    return row


def signing_secrets(row: WebhookSecret, now: datetime | None = None) -> list[str]:
    """The secrets an outgoing message is signed with: current first, then the
    previous one while its grace period lasts."""
    now = now or utcnow()
    secrets = [row.secret]
    if row.previous_secret and row.previous_valid_until and now < row.previous_valid_until:
        secrets.append(row.previous_secret)
    return secrets


async def secrets_for(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    return signing_secrets(await get_or_create(session, user_id))
