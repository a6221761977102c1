"""service robustness: set-aside stream rows, login failures, session versions, input channel

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 03:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'set_aside_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('consumer', sa.String(length=64), nullable=False),
        sa.Column('source_event_id', sa.BigInteger(), nullable=False),
        sa.Column('handler', sa.String(length=120), nullable=False),
        sa.Column('error_class', sa.String(length=120), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('consumer', 'source_event_id', 'handler', name='uq_set_aside_event_handler'),
    )
    op.create_index('ix_set_aside_created', 'set_aside_events', ['created_at'])
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('attempted_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_failures_pair', 'login_failures', ['username', 'address', 'attempted_at'])
    op.create_index('ix_login_failures_address', 'login_failures', ['address', 'attempted_at'])
    with op.batch_alter_table('staff_users') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('handoffs') as batch:
        batch.add_column(sa.Column('input_channel', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('handoffs') as batch:
        batch.drop_column('input_channel')
    with op.batch_alter_table('staff_users') as batch:
        batch.drop_column('session_version')
    op.drop_index('ix_login_failures_address', table_name='login_failures')
    op.drop_index('ix_login_failures_pair', table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_index('ix_set_aside_created', table_name='set_aside_events')
    op.drop_table('set_aside_events')
