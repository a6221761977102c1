"""channels: channel_callbacks_seen and channel_offered_options (messaging callbacks handled once,
and numbered options understood, whichever Rasa replica a callback reaches)

Revision ID: 0015_channels
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_channels"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_callbacks_seen",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_channel_callbacks_seen_seen_at", "channel_callbacks_seen", ["seen_at"])
    op.create_table(
        "channel_offered_options",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("payloads", sa.Text, nullable=False),
        sa.Column("offered_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_channel_offered_options_offered_at", "channel_offered_options", ["offered_at"])


def downgrade() -> None:
    op.drop_index("ix_channel_offered_options_offered_at", table_name="channel_offered_options")
    op.drop_table("channel_offered_options")
    op.drop_index("ix_channel_callbacks_seen_seen_at", table_name="channel_callbacks_seen")
    op.drop_table("channel_callbacks_seen")
