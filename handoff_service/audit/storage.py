"""The audit log: who looked at or changed what, and when. Append-only.

The repository offers ``record`` and ``query`` and nothing that changes a row. The
database backs this up: a trigger refuses every UPDATE, and every DELETE of a row
younger than ``MIN_RETENTION_DAYS`` (the floor the retention setting may not go
below), so neither a bug nor the purge can rewrite recent history. Rows hold ids and
masked values, never a customer's clear personal data; a reveal's reason is kept
because the record is worthless without it.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.settings import MIN_AUDIT_RETENTION_DAYS as MIN_RETENTION_DAYS

metadata = sa.MetaData()

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(80)),  # staff username; NULL for the system or an unknown login name
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=False, server_default=""),
    sa.Column("target_id", sa.String(80), nullable=False, server_default=""),
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
    sa.Index("ix_audit_events_occurred_at", "occurred_at"),
    sa.Index("ix_audit_events_actor", "actor", "occurred_at"),
    sa.Index("ix_audit_events_action", "action", "occurred_at"),
)

# What is recorded. The page shows each with its label (translated there).
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
HANDOFF_OPENED = "handoff_opened"
PERSONAL_DATA_REVEALED = "personal_data_revealed"
FAQ_CREATED = "faq_created"
FAQ_UPDATED = "faq_updated"
STAFF_ACCOUNT_CHANGED = "staff_account_changed"
CUSTOMER_DATA_EXPORTED = "customer_data_exported"
CUSTOMER_DATA_ERASED = "customer_data_erased"
RETENTION_PURGE = "retention_purge"
# --- desk operations (#7): a chat changing hands
HANDOFF_TRANSFERRED = "handoff_transferred"
HANDOFF_TAKEN_OVER = "handoff_taken_over"
HANDOFF_REASSIGNED = "handoff_reassigned"
# privacy (#14): the rest of what item 4 asks to have on record.
CUSTOMER_HISTORY_OPENED = "customer_history_opened"
FAQ_ROLLED_BACK = "faq_rolled_back"
FAQ_EXPORTED = "faq_exported"
DASHBOARD_EXPORTED = "dashboard_exported"
AGENT_SETTINGS_CHANGED = "agent_settings_changed"
ACTIONS = {
    LOGIN: "Logged in",
    LOGIN_FAILED: "Failed login",
    LOGOUT: "Logged out",
    HANDOFF_OPENED: "Opened a conversation",
    PERSONAL_DATA_REVEALED: "Revealed personal data",
    FAQ_CREATED: "Created an FAQ",
    FAQ_UPDATED: "Changed an FAQ",
    STAFF_ACCOUNT_CHANGED: "Changed a staff account or its roles",
    CUSTOMER_DATA_EXPORTED: "Exported a customer's data",
    CUSTOMER_DATA_ERASED: "Erased a customer's data",
    RETENTION_PURGE: "Deleted data past its retention period",
    HANDOFF_TRANSFERRED: "Transferred a conversation",
    HANDOFF_TAKEN_OVER: "Took over a conversation",
    HANDOFF_REASSIGNED: "Reassigned a conversation",
    CUSTOMER_HISTORY_OPENED: "Opened a customer's history",
    FAQ_ROLLED_BACK: "Restored an earlier FAQ version",
    FAQ_EXPORTED: "Exported the FAQs",
    DASHBOARD_EXPORTED: "Exported dashboard figures",
    AGENT_SETTINGS_CHANGED: "Changed an agent's settings",
}


def _now() -> dt.datetime:
    return dt.datetime.utcnow()


@dataclass(frozen=True)
class AuditEvent:
    id: int
    occurred_at: dt.datetime
    actor: Optional[str]
    action: str
    target_type: str
    target_id: str
    detail: Dict[str, Any]

    def as_json(self) -> Dict[str, Any]:
        return {
            "id": self.id, "occurred_at": self.occurred_at.isoformat() + "Z", "actor": self.actor,
            "action": self.action, "target_type": self.target_type, "target_id": self.target_id,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class AuditFilter:
    actor: Optional[str] = None
    action: Optional[str] = None
    since: Optional[dt.datetime] = None
    until: Optional[dt.datetime] = None  # exclusive

    def clauses(self) -> list:
        c = audit_events.c
        found = []
        if self.actor:
            found.append(c.actor == self.actor)
        if self.action:
            found.append(c.action == self.action)
        if self.since:
            found.append(c.occurred_at >= self.since)
        if self.until:
            found.append(c.occurred_at < self.until)
        return found


class AuditLog:
    """Insert and query; nothing else (see the module's docstring)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def record(self, actor: Optional[str], action: str, target_type: str = "", target_id: Any = "",
               detail: Optional[Dict[str, Any]] = None) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        with self.engine.begin() as conn:
            conn.execute(audit_events.insert().values(
                occurred_at=_now(), actor=actor, action=action, target_type=target_type,
                target_id=str(target_id), detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
            ))

    def query(self, where: AuditFilter = AuditFilter(), limit: int = 50, offset: int = 0) -> Tuple[List[AuditEvent], int]:
        """Newest first, with the number of all events that match."""
        clauses = where.clauses()
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(audit_events).where(*clauses)).scalar_one()
            rows = conn.execute(
                sa.select(audit_events).where(*clauses)
                .order_by(audit_events.c.occurred_at.desc(), audit_events.c.id.desc()).limit(limit).offset(offset)
            ).fetchall()
        return [
            AuditEvent(r.id, r.occurred_at, r.actor, r.action, r.target_type, r.target_id, json.loads(r.detail or "{}"))
            for r in rows
        ], total

    def actors(self) -> List[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(
                sa.select(audit_events.c.actor).where(audit_events.c.actor.is_not(None)).distinct().order_by(audit_events.c.actor)
            )]
