"""desk: skill group, priority, outcome and rating on handoffs; assignments, transfers,
agent status, callback/message tickets; the one-open-handoff index counts only queued/active

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 06:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = "0012"
branch_labels = None
depends_on = None

OLD_OPEN = sa.text("status <> 'closed'")
OPEN = sa.text("status IN ('queued', 'active')")


def upgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skill_group', sa.String(length=32), server_default='general', nullable=False))
        batch_op.add_column(sa.Column('priority', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('abandoned_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rating_comment', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('rated_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('disposition', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('customer_ref', sa.String(length=64), nullable=True))
    op.drop_index('uq_handoffs_open_conversation', table_name='handoffs')
    op.create_index('uq_handoffs_open_conversation', 'handoffs', ['conversation_id'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_table(
        'handoff_assignments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('handoff_id', sa.Integer(), nullable=False),
        sa.Column('agent_username', sa.String(length=80), nullable=False),
        sa.Column('assigned_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('ended_reason', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_handoff_assignments_handoff', 'handoff_assignments', ['handoff_id'])
    op.create_index('ix_handoff_assignments_agent', 'handoff_assignments', ['agent_username', 'ended_at'])
    op.create_table(
        'handoff_transfers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('handoff_id', sa.Integer(), nullable=False),
        sa.Column('from_agent', sa.String(length=80), nullable=False),
        sa.Column('to_skill_group', sa.String(length=32), nullable=True),
        sa.Column('to_agent', sa.String(length=80), nullable=True),
        sa.Column('note', sa.Text(), server_default='', nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_handoff_transfers_handoff', 'handoff_transfers', ['handoff_id'])
    op.create_table(
        'agent_status',
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('status', sa.String(length=16), server_default='offline', nullable=False),
        sa.Column('capacity', sa.Integer(), server_default='3', nullable=False),
        sa.Column('skills', sa.Text(), server_default='[]', nullable=False),
        sa.Column('languages', sa.Text(), server_default='[]', nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('username'),
    )
    op.create_table(
        'desk_tickets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('conversation_id', sa.String(length=255), nullable=False),
        sa.Column('customer_ref', sa.String(length=64), nullable=True),
        sa.Column('phone_masked', sa.String(length=32), nullable=True),
        sa.Column('phone_encrypted', sa.Text(), nullable=True),
        sa.Column('preferred_time', sa.String(length=64), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('skill_group', sa.String(length=32), server_default='general', nullable=False),
        sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.Column('done_by', sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_desk_tickets_status', 'desk_tickets', ['status', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_desk_tickets_status', table_name='desk_tickets')
    op.drop_table('desk_tickets')
    op.drop_table('agent_status')
    op.drop_index('ix_handoff_transfers_handoff', table_name='handoff_transfers')
    op.drop_table('handoff_transfers')
    op.drop_index('ix_handoff_assignments_agent', table_name='handoff_assignments')
    op.drop_index('ix_handoff_assignments_handoff', table_name='handoff_assignments')
    op.drop_table('handoff_assignments')
    op.drop_index('uq_handoffs_open_conversation', table_name='handoffs')
    op.create_index('uq_handoffs_open_conversation', 'handoffs', ['conversation_id'], unique=True,
                    sqlite_where=OLD_OPEN, postgresql_where=OLD_OPEN)
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        for column in ('customer_ref', 'tags', 'disposition', 'rated_at', 'rating_comment', 'rating',
                       'abandoned_at', 'priority', 'skill_group'):
            batch_op.drop_column(column)
