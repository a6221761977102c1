"""The desk's tables as the dashboard reads them (read only; the desk owns them).

Lightweight ``sa.table`` views naming only the columns the dashboard needs, so this
package does not depend on the desk's SQLAlchemy metadata (and never creates or
alters the desk's tables). Column names follow the desk contract (issue #7).
"""
from __future__ import annotations

import sqlalchemy as sa

# Typed where the type matters to the reader (SQLite returns datetimes as text otherwise).
handoffs = sa.table(
    "handoffs",
    sa.column("id", sa.Integer), sa.column("conversation_id"), sa.column("status"), sa.column("reason"), sa.column("context"),
    sa.column("language"), sa.column("input_channel"), sa.column("agent_username"),
    sa.column("created_at", sa.DateTime), sa.column("accepted_at", sa.DateTime), sa.column("closed_at", sa.DateTime),
    sa.column("skill_group"), sa.column("priority", sa.Integer), sa.column("abandoned_at", sa.DateTime),
    sa.column("rating", sa.Integer), sa.column("rating_comment"), sa.column("rated_at", sa.DateTime), sa.column("customer_ref"),
)

handoff_transfers = sa.table(
    "handoff_transfers",
    sa.column("id", sa.Integer), sa.column("handoff_id", sa.Integer), sa.column("created_at", sa.DateTime),
)

agent_status = sa.table(
    "agent_status",
    sa.column("username"), sa.column("status"), sa.column("capacity", sa.Integer), sa.column("skills"),
    sa.column("languages"), sa.column("updated_at", sa.DateTime),
)

# Statuses of a handoff still waiting for or talking to a person.
OPEN_STATUSES = ("queued", "active")
