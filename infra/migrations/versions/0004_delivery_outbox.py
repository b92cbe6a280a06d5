"""deliveries: outbox liveness (enqueued_at, lease_expires_at) and the due-scan index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 23:40:00.000000

Pending deliveries that exist at upgrade time have no lease: the first sweep enqueues
the due ones again, which is how deliveries stranded before the outbox get sent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "deliveries", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_deliveries_pending_due",
        "deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_pending_due", table_name="deliveries")
    op.drop_column("deliveries", "lease_expires_at")
    op.drop_column("deliveries", "enqueued_at")
