"""Per-user webhook signing secrets: created on first use, rotated with a grace period.

Rows hold the secrets sealed (`secret_box`); everything here hands out opened ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from torale.models_base import utcnow
from torale.secret_box import SecretBox
from torale.webhooks.models import WebhookSecret
from torale.webhooks.signing import generate_secret


@dataclass(frozen=True, slots=True)
class SigningSecret:
    """A user's secrets in clear, as signing and the API need them."""

    secret: str
    previous_secret: str | None
    previous_valid_until: datetime | None
    created_at: datetime
    rotated_at: datetime | None


async def _row(
    session: AsyncSession, user_id: uuid.UUID, box: SecretBox, *, for_update: bool = False
) -> WebhookSecret:
    # ON CONFLICT DO NOTHING: two first uses at once (API and a worker) agree on one secret.
    await session.execute(
        insert(WebhookSecret)
        .values(user_id=user_id, secret=box.seal(generate_secret(), user_id))
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    query = select(WebhookSecret).where(col(WebhookSecret.user_id) == user_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query.execution_options(populate_existing=True))).scalar_one()


def _opened(row: WebhookSecret, box: SecretBox) -> SigningSecret:
    return SigningSecret(
        secret=box.open(row.secret, row.user_id),
        previous_secret=box.open(row.previous_secret, row.user_id) if row.previous_secret else None,
        previous_valid_until=row.previous_valid_until,
        created_at=row.created_at,
        rotated_at=row.rotated_at,
    )


async def get_or_create(session: AsyncSession, user_id: uuid.UUID, box: SecretBox) -> SigningSecret:
    return _opened(await _row(session, user_id, box), box)


async def rotate(
    session: AsyncSession, user_id: uuid.UUID, box: SecretBox, grace_seconds: int
) -> SigningSecret:
    """A new current secret; the old one keeps signing for `grace_seconds`."""
    row = await _row(session, user_id, box, for_update=True)
    now = utcnow()
    # Re-sealed rather than copied: a secret stored in clear gets sealed here.
    row.previous_secret = box.seal(box.open(row.secret, user_id), user_id)
    row.previous_valid_until = now + timedelta(seconds=grace_seconds)
    row.secret = box.seal(generate_secret(), user_id)
    row.rotated_at = now
    await session.flush()
    return _opened(row, box)


def signing_secrets(secret: SigningSecret, now: datetime | None = None) -> list[str]:
    """The secrets an outgoing message is signed with: current first, then the
    previous one while its grace period lasts."""
    now = now or utcnow()
    secrets = [secret.secret]
    valid_until = secret.previous_valid_until
    if secret.previous_secret and valid_until and now < valid_until:
        secrets.append(secret.previous_secret)
    return secrets


async def secrets_for(session: AsyncSession, user_id: uuid.UUID, box: SecretBox) -> list[str]:
    return signing_secrets(await get_or_create(session, user_id, box))
