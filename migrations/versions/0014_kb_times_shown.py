"""knowledge base: how often each FAQ's answer was shown (the editor's list shows it beside helpfulness)

Revision ID: 0014
Revises: 0010
Create Date: 2026-11-29 07:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kb_faqs") as batch:
        batch.add_column(sa.Column("times_shown", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("kb_faqs") as batch:
        batch.drop_column("times_shown")
