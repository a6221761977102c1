"""Retention: delete what is past its period; anonymise what the figures still need.

Periods come from the settings (``*_RETENTION_DAYS``; defaults and why in
docs/architecture.md). One run:

- Rasa's tracker store: deletes every conversation whose last event is older than
  ``tracker_retention_days`` (whole conversations: a tracker cut in the middle would
  confuse the bot if the customer came back);
- the event broker's table: deletes rows older than ``broker_retention_days`` that the
  web service has already read (the cursor), so no transcript line is ever lost;
- transcripts: deletes lines older than ``transcript_retention_days``; handoffs of
  that age keep their status, reason, language, agent and times (the dashboard's
  figures) but lose their conversation id and context;
- the audit log: deletes events older than ``audit_retention_days``;
- (privacy #14) the links of a customer's chats across channels (``customer_identities``)
  older than ``identity_retention_days``, the desk's tickets ``ticket_retention_days``
  after they were done (or left, if never done), the unanswered questions older than
  ``unanswered_retention_days``; feedback on FAQ answers older than
  ``feedback_retention_days`` keeps its vote and loses its conversation id.

It records one audit event with what it did. It runs daily in the web service and on
demand with ``python -m handoff_service.privacy purge``.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.settings import Settings
from handoff_service.audit import storage as audit
from handoff_service.privacy import rasa_tables
from handoff_service.privacy.customer_records import PSEUDONYM_PREFIX, pseudonym
from handoff_service.desk.storage import desk_tickets, handoffs
from handoff_service.identities.storage import customer_identities
from handoff_service.storage import CursorRepository, transcript
from knowledge_base.storage import faq_feedback
from knowledge_base.unanswered import unanswered

logger = logging.getLogger(__name__)
BATCH = 1000
DAY = 24 * 3600


@dataclass
class RetentionPurge:
    settings: Settings
    app: Engine
    tracker: Engine
    broker: Engine
    cursor_name: str = "web"

    def run(self, now: Optional[dt.datetime] = None) -> Dict[str, int]:
        now = now or dt.datetime.utcnow()
        days = dt.timedelta(days=1)
        done = {
            "bot_events_deleted": self._purge_tracker(now - self.settings.tracker_retention_days * days),
            "event_stream_deleted": self._purge_broker(now - self.settings.broker_retention_days * days),
        }
        done.update(self._purge_transcripts(now - self.settings.transcript_retention_days * days))
        done.update(self._purge_desk_and_knowledge_base(now))
        done["audit_events_deleted"] = self._purge_audit(now - self.settings.audit_retention_days * days)
        audit.AuditLog(self.app).record(None, audit.RETENTION_PURGE, detail=done)
        return done

    def _purge_tracker(self, cutoff: dt.datetime) -> int:
        table = rasa_tables.events_table(self.tracker)
        if table is None:
            return 0
        stale = (
            sa.select(table.c.sender_id).group_by(table.c.sender_id)
            .having(sa.func.max(table.c.timestamp) < _epoch(cutoff)).scalar_subquery()
        )
        with self.tracker.begin() as conn:
            return conn.execute(table.delete().where(table.c.sender_id.in_(stale))).rowcount

    def _purge_broker(self, cutoff: dt.datetime) -> int:
        """The broker's rows carry their time only inside their JSON: read them oldest
        first, up to the first one that is young enough or not yet consumed."""
        table = rasa_tables.events_table(self.broker)
        if table is None:
            return 0
        consumed = CursorRepository(self.app).get(self.cursor_name)
        deleted, after = 0, 0
        while True:
            with self.broker.connect() as conn:
                rows = conn.execute(
                    sa.select(table.c.id, table.c.data).where(table.c.id > after, table.c.id <= consumed)
                    .order_by(table.c.id).limit(BATCH)
                ).fetchall()
            expired = []
            for row in rows:
                if float(rasa_tables.parse(row.data).get("timestamp") or 0) >= _epoch(cutoff):
                    break
                expired.append(row.id)
            if expired:
                with self.broker.begin() as conn:
                    deleted += rasa_tables.delete_events(conn, table, table.c.id.in_(expired))
            if len(expired) < BATCH:
                return deleted
            after = expired[-1]

    def _purge_transcripts(self, cutoff: dt.datetime) -> Dict[str, int]:
        with self.app.begin() as conn:
            lines = conn.execute(transcript.delete().where(transcript.c.timestamp < _epoch(cutoff))).rowcount
            old = conn.execute(
                sa.select(handoffs.c.id).where(
                    handoffs.c.status.in_(("closed", "cancelled", "abandoned")), handoffs.c.created_at < cutoff,
                    handoffs.c.conversation_id.not_like(f"{PSEUDONYM_PREFIX}%"),
                )
            ).scalars().all()
            for handoff_id in old:
                conn.execute(handoffs.update().where(handoffs.c.id == handoff_id).values(
                    conversation_id=pseudonym(), context=json.dumps({"expired": True}),
                    rating_comment=None, customer_ref=None,  # the customer's words and id (desk #7)
                ))
        return {"transcript_lines_deleted": lines, "handoffs_anonymised": len(old)}

    def _purge_desk_and_knowledge_base(self, now: dt.datetime) -> Dict[str, int]:
        """privacy (#14): the other stores that name a customer or one of their chats."""
        def cutoff(days: int) -> dt.datetime:
            return now - dt.timedelta(days=days)

        settings = self.settings
        with self.app.begin() as conn:
            return {
                "channel_links_deleted": conn.execute(customer_identities.delete().where(
                    customer_identities.c.linked_at < cutoff(settings.identity_retention_days))).rowcount,
                # An open callback this old is abandoned, not owed: its date is when it was left.
                "tickets_deleted": conn.execute(desk_tickets.delete().where(
                    sa.func.coalesce(desk_tickets.c.done_at, desk_tickets.c.created_at)
                    < cutoff(settings.ticket_retention_days))).rowcount,
                "unanswered_questions_deleted": conn.execute(unanswered.delete().where(
                    unanswered.c.created_at < cutoff(settings.unanswered_retention_days))).rowcount,
                # The FAQ figures keep every vote; only the link to the chat goes.
                "answer_feedback_anonymised": conn.execute(faq_feedback.update().where(
                    faq_feedback.c.created_at < cutoff(settings.feedback_retention_days),
                    faq_feedback.c.conversation_id != "").values(conversation_id="")).rowcount,
            }

    def _purge_audit(self, cutoff: dt.datetime) -> int:
        # The one delete of audit rows there is; the database refuses it for rows
        # younger than the retention floor (migration 0007).
        with self.app.begin() as conn:
            return conn.execute(audit.audit_events.delete().where(audit.audit_events.c.occurred_at < cutoff)).rowcount


def _epoch(moment: dt.datetime) -> float:
    return moment.replace(tzinfo=dt.timezone.utc).timestamp()


async def run_daily(purge: RetentionPurge) -> None:
    """The web service's daily purge: once at start, then every 24 hours. A failure
    is logged and tried again the next day, never ends the service."""
    while True:
        try:
            done = await asyncio.to_thread(purge.run)
            logger.info("retention purge: %s", done)
        except Exception:  # noqa: BLE001 - the service keeps running; the log says why
            logger.exception("retention purge failed")
        await asyncio.sleep(DAY)
