"""desk operations: private notes, whispers and transfer notes kept with each handoff

Revision ID: 0019_deskops
Revises: 0018_dashperf
Create Date: 2026-11-29 09:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0019_deskops"
down_revision = "0018_dashperf"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("author_name", sa.String(length=120), nullable=False),
        sa.Column("to_agent", sa.String(length=80), nullable=True),
        sa.Column("to_skill_group", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_notes_conversation", "handoff_notes", ["conversation_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_handoff_notes_conversation", table_name="handoff_notes")
    op.drop_table("handoff_notes")
