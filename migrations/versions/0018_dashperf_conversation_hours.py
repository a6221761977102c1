"""dashboard (#13): per-hour rollup of the conversations, so the history reads hours, not rows

Filled here from the conversation rows already summed up; the event-stream handler
keeps it from then on (handoff_service/dashboard/summary.py).

Revision ID: 0018_dashperf
Revises: 0017_desktools
Create Date: 2026-11-29 09:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0018_dashperf"
down_revision = "0017_desktools"
branch_labels = None
depends_on = None

FIGURES = ("conversations", "handed_over", "confirmed", "unresolved", "recontacted", "with_helpful",
           "with_not_helpful", "with_fallback")


def upgrade() -> None:
    op.create_table(
        "dash_conversation_hours",
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("first_intent", sa.String(length=120), nullable=False),
        *[sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in FIGURES],
        sa.PrimaryKeyConstraint("hour", "channel", "language", "first_intent"),
    )
    if op.get_bind().dialect.name == "postgresql":
        hour = "date_trunc('hour', started_at)"
    else:  # the text SQLAlchemy stores a SQLite DateTime as, so keys and ranges compare alike
        hour = "strftime('%Y-%m-%d %H:00:00.000000', started_at)"
    # The same definitions as summary.conversation_figures (docs/dashboard.md).
    op.execute(f"""
        INSERT INTO dash_conversation_hours (hour, channel, language, first_intent, {", ".join(FIGURES)})
        SELECT {hour}, COALESCE(channel, ''), COALESCE(language, ''), COALESCE(first_intent, ''), COUNT(*),
               SUM(CASE WHEN handed_over THEN 1 ELSE 0 END),
               SUM(CASE WHEN NOT handed_over AND last_feedback = 'helpful' THEN 1 ELSE 0 END),
               SUM(CASE WHEN NOT handed_over AND (last_user_fallback OR last_feedback = 'not_helpful') THEN 1 ELSE 0 END),
               SUM(CASE WHEN recontacted THEN 1 ELSE 0 END),
               SUM(CASE WHEN faq_helpful > 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN faq_not_helpful > 0 THEN 1 ELSE 0 END),
               SUM(CASE WHEN fallbacks > 0 THEN 1 ELSE 0 END)
        FROM dash_conversations WHERE user_messages > 0
        GROUP BY {hour}, COALESCE(channel, ''), COALESCE(language, ''), COALESCE(first_intent, '')
    """)


def downgrade() -> None:
    op.drop_table("dash_conversation_hours")
