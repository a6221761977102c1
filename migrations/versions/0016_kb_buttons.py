"""knowledge base: quick-reply buttons under an FAQ's answer, per language

Revision ID: 0016_kb_buttons
Revises: 0015_channels
Create Date: 2026-11-29 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0016_kb_buttons"
down_revision = "0015_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_faq_buttons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("faq_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["faq_id"], ["kb_faqs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kb_faq_buttons_faq_id", "kb_faq_buttons", ["faq_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_kb_faq_buttons_faq_id", table_name="kb_faq_buttons")
    op.drop_table("kb_faq_buttons")
