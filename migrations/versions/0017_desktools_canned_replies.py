"""agent console: canned replies, personal and team, per language

Revision ID: 0017_desktools
Revises: 0016_kb_buttons
Create Date: 2026-11-29 09:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0017_desktools"
down_revision = "0016_kb_buttons"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_canned_replies_owner_language", "canned_replies", ["owner", "language"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_canned_replies_owner_language", table_name="canned_replies")
    op.drop_table("canned_replies")
