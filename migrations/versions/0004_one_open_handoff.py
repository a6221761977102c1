"""at most one open handoff per conversation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OPEN = sa.text("status <> 'closed'")


def upgrade() -> None:
    op.create_index('uq_handoffs_open_conversation', 'handoffs', ['conversation_id'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index('uq_handoffs_open_conversation', table_name='handoffs')
