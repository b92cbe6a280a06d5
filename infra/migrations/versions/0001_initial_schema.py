"""initial schema: users, api keys, tasks, executions

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 14:22:21.599118
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('clerk_user_id', sa.String(length=255), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('last_login', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('clerk_user_id')
    )
    op.create_index('ix_users_created_at', 'users', ['created_at'], unique=False)
    op.create_index('ix_users_email_lower', 'users', [sa.literal_column('lower(email)')], unique=True)
    op.create_table('api_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('key_prefix', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    op.create_index('ix_api_keys_user_created', 'api_keys', ['user_id', 'created_at'], unique=False)
    op.create_table('tasks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('search_query', sa.String(length=500), nullable=False),
    sa.Column('condition_description', sa.String(length=500), nullable=False),
    sa.Column('schedule', sa.String(length=120), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('notify_behavior', sa.String(length=16), nullable=False),
    sa.Column('executor_type', sa.String(length=64), nullable=False),
    sa.Column('config', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('notifications', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('condition_met', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('last_known_state', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('last_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_execution_id', sa.Uuid(), nullable=True),
    sa.Column('is_public', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('view_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('subscriber_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('forked_from_task_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('state_changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['forked_from_task_id'], ['tasks.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_tasks_forked_from', 'tasks', ['forked_from_task_id'], unique=False)
    op.create_index('ix_tasks_public', 'tasks', ['is_public'], unique=False, postgresql_where=sa.text('is_public'))
    op.create_index('ix_tasks_search_query', 'tasks', ['search_query'], unique=False)
    op.create_index('ix_tasks_state', 'tasks', ['state'], unique=False)
    op.create_index('ix_tasks_user_created', 'tasks', ['user_id', sa.literal_column('created_at DESC')], unique=False)
    op.create_index('ix_tasks_user_state_created', 'tasks', ['user_id', 'state', sa.literal_column('created_at DESC')], unique=False)
    op.create_table('executions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('workflow_id', sa.String(length=255), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('condition_met', sa.Boolean(), nullable=True),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('current_state', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('change_summary', sa.Text(), nullable=True),
    sa.Column('grounding_sources', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('error_type', sa.String(length=64), nullable=True),
    sa.Column('attempt', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('notification_due', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('notification_sent', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_executions_created', 'executions', [sa.literal_column('created_at DESC')], unique=False)
    op.create_index('ix_executions_status_created', 'executions', ['status', sa.literal_column('created_at DESC')], unique=False)
    op.create_index('ix_executions_task_condition_met', 'executions', ['task_id', sa.literal_column('created_at DESC')], unique=False, postgresql_where=sa.text('condition_met'))
    op.create_index('ix_executions_task_created', 'executions', ['task_id', sa.literal_column('created_at DESC')], unique=False)
    # tasks and executions point at each other: this edge is added once both exist.
    op.create_foreign_key(
        'fk_tasks_last_execution_id', 'tasks', 'executions',
        ['last_execution_id'], ['id'], ondelete='SET NULL',
    )
    op.create_index('ix_executions_task_status_created', 'executions', ['task_id', 'status', sa.literal_column('created_at DESC')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_executions_task_status_created', table_name='executions')
    op.drop_index('ix_executions_task_created', table_name='executions')
    op.drop_index('ix_executions_task_condition_met', table_name='executions', postgresql_where=sa.text('condition_met'))
    op.drop_index('ix_executions_status_created', table_name='executions')
    op.drop_index('ix_executions_created', table_name='executions')
    op.drop_constraint('fk_tasks_last_execution_id', 'tasks', type_='foreignkey')
    op.drop_table('executions')
    op.drop_index('ix_tasks_user_state_created', table_name='tasks')
    op.drop_index('ix_tasks_user_created', table_name='tasks')
    op.drop_index('ix_tasks_state', table_name='tasks')
    op.drop_index('ix_tasks_search_query', table_name='tasks')
    op.drop_index('ix_tasks_public', table_name='tasks', postgresql_where=sa.text('is_public'))
    op.drop_index('ix_tasks_forked_from', table_name='tasks')
    op.drop_table('tasks')
    op.drop_index('ix_api_keys_user_created', table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_index('ix_users_email_lower', table_name='users')
    op.drop_index('ix_users_created_at', table_name='users')
    op.drop_table('users')
