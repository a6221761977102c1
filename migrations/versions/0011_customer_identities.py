"""channels: customer_identities (one customer, one history across channels)

Revision ID: 0011
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_identities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_ref", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("linked_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("channel", "sender_id", name="uq_customer_identities_channel_sender"),
    )
    op.create_index("ix_customer_identities_customer_ref", "customer_identities", ["customer_ref"])


def downgrade() -> None:
    op.drop_index("ix_customer_identities_customer_ref", table_name="customer_identities")
    op.drop_table("customer_identities")
