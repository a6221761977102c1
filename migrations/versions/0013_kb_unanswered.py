"""knowledge base: unanswered questions (don't-know, not helpful, handoff), masked

Revision ID: 0013
Revises: 0008
Create Date: 2026-11-29 06:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kb_unanswered',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('conversation_id', sa.String(length=255), server_default='', nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_kb_unanswered_created_at', 'kb_unanswered', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_kb_unanswered_created_at', table_name='kb_unanswered')
    op.drop_table('kb_unanswered')
