"""TEST-ONLY stand-ins for the desk's schema (issue #7, desk contract) the dashboard reads.

The desk branch adds these columns and tables in its migration 0009; until it is
merged, this helper creates whatever of them is missing so the dashboard's tests can
run. After the merge the real ones exist and this changes nothing (every step is
"if absent"). Never used outside tests.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

DESK_HANDOFF_COLUMNS = {
    "skill_group": "VARCHAR(32) NOT NULL DEFAULT 'general'",
    "priority": "INTEGER NOT NULL DEFAULT 0",
    "abandoned_at": "TIMESTAMP NULL",
    "rating": "INTEGER NULL",
    "rating_comment": "TEXT NULL",
    "rated_at": "TIMESTAMP NULL",
    "disposition": "VARCHAR(64) NULL",
    "tags": "TEXT NULL",
    "customer_ref": "VARCHAR(64) NULL",
}

DESK_TABLES = {
    "handoff_assignments": """CREATE TABLE handoff_assignments (
        id INTEGER PRIMARY KEY, handoff_id INTEGER NOT NULL REFERENCES handoffs(id),
        agent_username VARCHAR(80) NOT NULL, assigned_at TIMESTAMP NOT NULL, ended_at TIMESTAMP NULL,
        ended_reason VARCHAR(32) NULL)""",
    "handoff_transfers": """CREATE TABLE handoff_transfers (
        id INTEGER PRIMARY KEY, handoff_id INTEGER NOT NULL REFERENCES handoffs(id), from_agent VARCHAR(80),
        to_skill_group VARCHAR(32) NULL, to_agent VARCHAR(80) NULL, note TEXT, created_at TIMESTAMP NOT NULL)""",
    "agent_status": """CREATE TABLE agent_status (
        username VARCHAR(80) PRIMARY KEY, status VARCHAR(16) NOT NULL, capacity INTEGER NOT NULL DEFAULT 3,
        skills TEXT, languages TEXT, updated_at TIMESTAMP NOT NULL)""",
}


def ensure_desk_schema(engine: Engine) -> None:
    """Add the desk contract's handoff columns and tables where they are missing."""
    inspector = sa.inspect(engine)
    present = {c["name"] for c in inspector.get_columns("handoffs")}
    tables = set(inspector.get_table_names())
    with engine.begin() as conn:
        for name, ddl in DESK_HANDOFF_COLUMNS.items():
            if name not in present:
                conn.execute(sa.text(f"ALTER TABLE handoffs ADD COLUMN {name} {ddl}"))
        for name, ddl in DESK_TABLES.items():
            if name not in tables:
                conn.execute(sa.text(ddl))
        # The contract's new statuses (abandoned, cancelled) end a handoff like "closed"
        # does; the desk's migration widens the one-open-handoff index accordingly.
