"""tasks: failure threshold and health (task_failing / task_recovered), output_schema;
deliveries: one per (execution, event type, channel, target)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 04:30:00.000000

An execution may now carry two events to one channel (a success that both meets the
condition and ends a failing streak: condition_met and task_recovered), so the
deliveries' uniqueness includes the event type.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tasks",
        sa.Column("failure_threshold", sa.Integer(), nullable=False, server_default=sa.text("3")),
    )
    op.add_column(
        "tasks",
        sa.Column(
            "consecutive_failures", sa.Integer(), nullable=False, server_default=sa.text("0")
        ),
    )
    op.add_column("tasks", sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "tasks", sa.Column("output_schema", postgresql.JSONB(), nullable=True)
    )
    op.drop_constraint("uq_deliveries_execution_target", "deliveries", type_="unique")
    op.create_unique_constraint(
        "uq_deliveries_execution_event_target",
        "deliveries",
        ["execution_id", "event_type", "channel", "target"],
    )


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE event_type IN ('task_failing', 'task_recovered')")
    op.drop_constraint("uq_deliveries_execution_event_target", "deliveries", type_="unique")
    op.create_unique_constraint(
        "uq_deliveries_execution_target", "deliveries", ["execution_id", "channel", "target"]
    )
    op.drop_column("tasks", "output_schema")
    op.drop_column("tasks", "failing_since")
    op.drop_column("tasks", "consecutive_failures")
    op.drop_column("tasks", "failure_threshold")
