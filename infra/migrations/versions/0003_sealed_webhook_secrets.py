"""webhook secrets: room for sealed (encrypted) values

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 17:00:00.000000

Secrets already stored in clear stay readable and are sealed at their next rotation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("secret", "previous_secret"):
        op.alter_column(
            "webhook_secrets", column, type_=sa.String(length=255), existing_type=sa.String(100)
        )


def downgrade() -> None:
    # Sealed values do not fit the old width; only a database without them goes back.
    for column in ("secret", "previous_secret"):
        op.alter_column(
            "webhook_secrets", column, type_=sa.String(length=100), existing_type=sa.String(255)
        )
