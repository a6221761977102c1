"""Audit log (append-only).

Revision ID: 0007
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None

# Kept in step with bot.settings.MIN_AUDIT_RETENTION_DAYS (a migration must not change
# when the code does, so the number is written here).
FLOOR_DAYS = 180
REFUSE = "the audit log is append-only"


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(80)),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False, server_default=""),
        sa.Column("target_id", sa.String(80), nullable=False, server_default=""),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor", "occurred_at"])
    op.create_index("ix_audit_events_action", "audit_events", ["action", "occurred_at"])
    # Rows are never changed, and deleted only once older than the retention floor.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'UPDATE' OR OLD.occurred_at > (now() AT TIME ZONE 'utc') - interval '{FLOOR_DAYS} days' THEN
                    RAISE EXCEPTION '{REFUSE}';
                END IF;
                RETURN OLD;
            END $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""")
    else:
        op.execute(f"""
            CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
            BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END""")
        op.execute(f"""
            CREATE TRIGGER audit_events_no_early_delete BEFORE DELETE ON audit_events
            WHEN OLD.occurred_at > datetime('now', '-{FLOOR_DAYS} days')
            BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    op.drop_table("audit_events")
