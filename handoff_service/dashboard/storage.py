"""The dashboard's own summary tables, kept up to date incrementally.

- ``dash_conversations``: one row per bot conversation (a Rasa session of one
  sender), updated by the event-stream handler (``summary.SummaryHandler``).
- ``dash_conversation_hours``: per-hour rollup of those rows (by the hour the
  conversation started, channel, language and first intent): what the history
  reads, so a page costs the same whatever the number of conversations (kept by the
  same handler, in the same transaction as the row it sums up).
- ``dash_intent_hours`` / ``dash_faq_hours``: per-hour rollups of intents (with
  fallbacks) and of FAQ answers with their helpful / not helpful votes.
- ``dash_handoff_hours``: per-hour rollup of the desk's handoff records (offered,
  answered, within service level, abandoned, waits, handle times, ratings), refreshed
  from the ``handoffs`` table for the hours still changing (``HandoffRollup``).

Hours are UTC; pages shift them into the centre's time zone.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

metadata = sa.MetaData()

conversations = sa.Table(
    "dash_conversations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),  # Rasa's sender id
    sa.Column("started_event_id", sa.BigInteger, nullable=False),
    sa.Column("last_event_id", sa.BigInteger, nullable=False),  # replaying the stream changes nothing
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("last_event_at", sa.DateTime, nullable=False),
    sa.Column("channel", sa.String(64)),
    sa.Column("language", sa.String(8)),
    # Who the customer is, as far as known: "ref:<customer_ref>" once verified/linked,
    # else "sender:<sender id>". Used for the first-contact-resolution proxy only.
    sa.Column("customer_key", sa.String(300), nullable=False),
    sa.Column("first_intent", sa.String(120)),
    sa.Column("last_intent", sa.String(120)),
    sa.Column("user_messages", sa.Integer, nullable=False, server_default="0"),
    sa.Column("fallbacks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_user_fallback", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("faq_answers", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_faq", sa.String(200)),
    sa.Column("faq_helpful", sa.Integer, nullable=False, server_default="0"),
    sa.Column("faq_not_helpful", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_feedback", sa.String(16)),  # helpful | not_helpful
    sa.Column("handed_over", sa.Boolean, nullable=False, server_default=sa.false()),
    # The same customer came back within the FCR window (docs/dashboard.md).
    sa.Column("recontacted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("conversation_id", "started_event_id", name="uq_dash_conversations_session"),
    sa.Index("ix_dash_conversations_started", "started_at"),
    sa.Index("ix_dash_conversations_sender", "conversation_id", "id"),
    sa.Index("ix_dash_conversations_customer", "customer_key", "started_at"),
    sa.Index("ix_dash_conversations_recent", "last_event_at"),
)

# What one conversation adds to its hour (docs/dashboard.md defines each; counted only
# once the customer said something): see ``summary.conversation_figures``.
CONVERSATION_FIGURES = ("conversations", "handed_over", "confirmed", "unresolved", "recontacted", "with_helpful",
                        "with_not_helpful", "with_fallback")

conversation_hours = sa.Table(
    "dash_conversation_hours",
    metadata,
    sa.Column("hour", sa.DateTime, primary_key=True),  # of started_at
    sa.Column("channel", sa.String(64), primary_key=True),  # "" when not known
    sa.Column("language", sa.String(8), primary_key=True),
    sa.Column("first_intent", sa.String(120), primary_key=True),
    *[sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in CONVERSATION_FIGURES],
)

intent_hours = sa.Table(
    "dash_intent_hours",
    metadata,
    sa.Column("hour", sa.DateTime, primary_key=True),
    sa.Column("intent", sa.String(120), primary_key=True),
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("language", sa.String(8), primary_key=True),
    sa.Column("messages", sa.Integer, nullable=False, server_default="0"),
    sa.Column("fallbacks", sa.Integer, nullable=False, server_default="0"),
)

faq_hours = sa.Table(
    "dash_faq_hours",
    metadata,
    sa.Column("hour", sa.DateTime, primary_key=True),
    sa.Column("faq", sa.String(200), primary_key=True),
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("language", sa.String(8), primary_key=True),
    sa.Column("shown", sa.Integer, nullable=False, server_default="0"),
    sa.Column("helpful", sa.Integer, nullable=False, server_default="0"),
    sa.Column("not_helpful", sa.Integer, nullable=False, server_default="0"),
)

# Wait-time buckets (seconds, upper bounds) of the answer-speed distribution.
WAIT_BUCKETS = (20, 60, 180, 600)
WAIT_BUCKET_COLUMNS = ("wait_le_20", "wait_le_60", "wait_le_180", "wait_le_600", "wait_over_600")

handoff_hours = sa.Table(
    "dash_handoff_hours",
    metadata,
    sa.Column("hour", sa.DateTime, primary_key=True),
    sa.Column("skill_group", sa.String(32), primary_key=True),
    sa.Column("language", sa.String(8), primary_key=True),
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("reason", sa.String(64), primary_key=True),
    sa.Column("agent", sa.String(80), primary_key=True),  # "" when no agent took it
    sa.Column("offered", sa.Integer, nullable=False),
    sa.Column("answered", sa.Integer, nullable=False),
    sa.Column("answered_in_sl", sa.Integer, nullable=False),
    sa.Column("abandoned", sa.Integer, nullable=False),
    sa.Column("cancelled", sa.Integer, nullable=False),
    sa.Column("transferred", sa.Integer, nullable=False),
    sa.Column("wait_sum", sa.Float, nullable=False),  # seconds, answered handoffs
    sa.Column("handle_sum", sa.Float, nullable=False),  # seconds, closed handoffs
    sa.Column("handled", sa.Integer, nullable=False),
    *[sa.Column(name, sa.Integer, nullable=False) for name in WAIT_BUCKET_COLUMNS],
    *[sa.Column(f"rating_{n}", sa.Integer, nullable=False) for n in range(1, 6)],
    sa.Index("ix_dash_handoff_hours_hour", "hour"),
)

# Small facts the dashboard keeps about itself (e.g. when the handoff rollup last ran).
dashboard_state = sa.Table(
    "dash_state",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

SUMMARY_TABLES = (conversations, conversation_hours, intent_hours, faq_hours, handoff_hours, dashboard_state)


def hour_of(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def upsert_increment(conn: Connection, table: sa.Table, keys: Dict[str, Any], increments: Dict[str, int]) -> None:
    """Add ``increments`` to the row of ``keys``, creating it if absent (one statement)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**keys, **increments)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: getattr(table.c, name) + value for name, value in increments.items()},
    )
    conn.execute(statement)


def get_state(conn: Connection, name: str) -> Optional[str]:
    return conn.execute(sa.select(dashboard_state.c.value).where(dashboard_state.c.name == name)).scalar()


def set_state(conn: Connection, name: str, value: str) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(dashboard_state).values(name=name, value=value)
    conn.execute(statement.on_conflict_do_update(index_elements=["name"], set_={"value": value}))
