"""agent replies remembered by the console's id, so a repeated request is not sent twice

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'agent_replies',
        sa.Column('handoff_id', sa.Integer(), nullable=False),
        sa.Column('client_message_id', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('handoff_id', 'client_message_id'),
    )


def downgrade() -> None:
    op.drop_table('agent_replies')
