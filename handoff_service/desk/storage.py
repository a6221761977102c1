"""The desk's storage: handoffs (one open per conversation, queue position) and the agent
replies sent for them. The tables share ``handoff_service.storage.metadata``: one schema,
one migration history."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.text_checks import clean
from handoff_service.storage import _now, metadata

# Statuses of a handoff that is still waiting for or with an agent; every other one is final.
OPEN_STATUSES = ("queued", "active")
# The partial unique index's predicate (migration 0009 widened it from "not closed").
OPEN_CONDITION = sa.text("status IN ('queued', 'active')")
SKILL_GROUPS = ("billing", "technical", "sales", "general")
REASONS = (
    "explicit_request", "repeated_misunderstanding", "frustration", "business_rule:complaint",
    "business_rule:fraud_security", "business_rule:vip", "business_rule:account_action_failed",
    "faq_not_helpful", "callback_request",
)

handoffs = sa.Table(
    "handoffs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    # queued | active | closed | abandoned (left while queued) | cancelled (went back to the bot)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("context", sa.Text, nullable=False, server_default="{}"),
    # The channel the customer wrote on when asking for a person (Rasa's input channel
    # name, e.g. socketio, rest): some cannot receive an agent's replies.
    sa.Column("input_channel", sa.String(64)),
    sa.Column("agent_username", sa.String(80)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("accepted_at", sa.DateTime),
    sa.Column("closed_at", sa.DateTime),
    # --- desk (#7): routing, outcome and rating (migration 0009) ---
    sa.Column("skill_group", sa.String(32), nullable=False, server_default="general"),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),  # higher is served first
    sa.Column("abandoned_at", sa.DateTime),  # also set for cancelled
    sa.Column("rating", sa.Integer),  # 1-5
    sa.Column("rating_comment", sa.Text),
    sa.Column("rated_at", sa.DateTime),
    sa.Column("disposition", sa.String(64)),
    sa.Column("tags", sa.Text),  # JSON list of strings
    sa.Column("customer_ref", sa.String(64)),
    sa.Index("ix_handoffs_status", "status"),
    sa.Index("ix_handoffs_conversation", "conversation_id"),
    # At most one open handoff per conversation, even for two requests at the same moment.
    sa.Index("uq_handoffs_open_conversation", "conversation_id", unique=True,
             sqlite_where=OPEN_CONDITION, postgresql_where=OPEN_CONDITION),
)

# Agent replies the console has sent, by the id the console gave each one: a
# request repeated (a retry after a timeout, a double click) is not sent twice.
agent_replies = sa.Table(
    "agent_replies",
    metadata,
    sa.Column("handoff_id", sa.Integer, sa.ForeignKey("handoffs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("client_message_id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # pending | sent | failed
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

# --- desk (#7): who held each handoff, transfers, agents' status, callback/message tickets ---
handoff_assignments = sa.Table(
    "handoff_assignments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("handoff_id", sa.Integer, sa.ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("agent_username", sa.String(80), nullable=False),
    sa.Column("assigned_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime),
    sa.Column("ended_reason", sa.String(16)),  # transferred | closed | reassigned | taken_over
    sa.Index("ix_handoff_assignments_handoff", "handoff_id"),
    sa.Index("ix_handoff_assignments_agent", "agent_username", "ended_at"),
)

handoff_transfers = sa.Table(
    "handoff_transfers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("handoff_id", sa.Integer, sa.ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("from_agent", sa.String(80), nullable=False),
    sa.Column("to_skill_group", sa.String(32)),
    sa.Column("to_agent", sa.String(80)),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_handoff_transfers_handoff", "handoff_id"),
)

agent_status = sa.Table(
    "agent_status",
    metadata,
    sa.Column("username", sa.String(80), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="offline"),  # online | away | offline
    sa.Column("capacity", sa.Integer, nullable=False, server_default="3"),  # concurrent chats
    sa.Column("skills", sa.Text, nullable=False, server_default="[]"),  # JSON list of skill groups
    sa.Column("languages", sa.Text, nullable=False, server_default="[]"),  # JSON list of language codes
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

desk_tickets = sa.Table(
    "desk_tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # callback | message
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("customer_ref", sa.String(64)),
    # The number as shown to staff (masked) and encrypted for the agent who calls back
    # (bot.privacy's Fernet key): never plain in the database or the logs.
    sa.Column("phone_masked", sa.String(32)),
    sa.Column("phone_encrypted", sa.Text),
    sa.Column("preferred_time", sa.String(64)),
    sa.Column("message", sa.Text),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("skill_group", sa.String(32), nullable=False, server_default="general"),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),  # open | done
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("done_at", sa.DateTime),
    sa.Column("done_by", sa.String(80)),
    sa.Index("ix_desk_tickets_status", "status", "created_at"),
)

# Rasa input channels that answer only within the customer's own request.
NO_PUSH_CHANNELS = frozenset({"rest"})

# A reply still "pending" this long after it was claimed is taken to have failed.
REPLY_PENDING_TIMEOUT = dt.timedelta(seconds=30)


@dataclass
class Handoff:
    id: int
    conversation_id: str
    status: str
    reason: str
    language: str
    context: Dict[str, Any]
    agent_username: Optional[str]
    created_at: dt.datetime
    accepted_at: Optional[dt.datetime] = None
    closed_at: Optional[dt.datetime] = None
    input_channel: Optional[str] = None
    skill_group: str = "general"
    priority: int = 0
    abandoned_at: Optional[dt.datetime] = None
    rating: Optional[int] = None
    rating_comment: Optional[str] = None
    disposition: Optional[str] = None
    tags: List[str] = field(default_factory=list)
    customer_ref: Optional[str] = None

    @property
    def receives_live_replies(self) -> bool:
        """Whether an agent's reply can reach the customer: a REST client gets answers
        only in the response to its own request, so nothing can be pushed to it later."""
        return self.input_channel not in NO_PUSH_CHANNELS

    def as_json(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "status": self.status,
            "reason": self.reason,
            "language": self.language,
            "context": self.context,
            "input_channel": self.input_channel,
            "receives_live_replies": self.receives_live_replies,
            "agent": self.agent_username,
            "created_at": self.created_at.isoformat() + "Z",
            "accepted_at": self.accepted_at.isoformat() + "Z" if self.accepted_at else None,
            "closed_at": self.closed_at.isoformat() + "Z" if self.closed_at else None,
            "skill_group": self.skill_group,
            "priority": self.priority,
            "abandoned_at": self.abandoned_at.isoformat() + "Z" if self.abandoned_at else None,
            "rating": self.rating,
            "rating_comment": self.rating_comment,
            "disposition": self.disposition,
            "tags": self.tags,
            "customer_ref": self.customer_ref,
        }


class HandoffConflict(RuntimeError):
    pass


class HandoffRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def claim_reply(self, handoff_id: int, client_message_id: str) -> str:
        """Claim the sending of one reply. Returns what the caller should do:

        ``"send"`` (first time), ``"check"`` (an earlier try failed or stalled: send
        unless it reached the customer after all), ``"sent"`` (a repeat: do nothing) or
        ``"in_progress"`` (another request is sending it right now).
        """
        key = (agent_replies.c.handoff_id == handoff_id, agent_replies.c.client_message_id == client_message_id)
        now = _now()
        try:
            with self.engine.begin() as conn:
                conn.execute(agent_replies.insert().values(
                    handoff_id=handoff_id, client_message_id=client_message_id, status="pending", updated_at=now
                ))
            return "send"
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(agent_replies).where(*key)).first()
            if row is None or row.status == "sent":
                return "sent"
            if row.status == "pending" and now - row.updated_at < REPLY_PENDING_TIMEOUT:
                return "in_progress"
            taken = conn.execute(
                agent_replies.update()
                .where(*key, agent_replies.c.status == row.status, agent_replies.c.updated_at == row.updated_at)
                .values(status="pending", updated_at=now)
            ).rowcount
        return "check" if taken else "in_progress"

    def finish_reply(self, handoff_id: int, client_message_id: str, sent: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                agent_replies.update()
                .where(agent_replies.c.handoff_id == handoff_id, agent_replies.c.client_message_id == client_message_id)
                .values(status="sent" if sent else "failed", updated_at=_now())
            )

    def open_for(self, conversation_id: str) -> Optional[Handoff]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(handoffs)
                .where(handoffs.c.conversation_id == conversation_id, handoffs.c.status.in_(OPEN_STATUSES))
                .order_by(handoffs.c.id.desc())
            ).first()
        return self._handoff(row) if row else None

    def create(self, conversation_id: str, reason: str, language: str, context: Dict[str, Any],
               input_channel: Optional[str] = None, skill_group: str = "general", priority: int = 0,
               customer_ref: Optional[str] = None) -> tuple:
        """Queue a handoff; a repeated request for an open one returns that one.

        Returns (handoff, created).
        """
        existing = self.open_for(conversation_id)
        if existing:
            return existing, False
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(
                    handoffs.insert().values(
                        conversation_id=conversation_id,
                        status="queued",
                        reason=reason,
                        language=language,
                        context=json.dumps(context, ensure_ascii=False),
                        input_channel=input_channel,
                        skill_group=skill_group,
                        priority=priority,
                        customer_ref=customer_ref,
                        created_at=_now(),
                    )
                ).inserted_primary_key[0]
        except IntegrityError:  # a simultaneous request queued it first
            existing = self.open_for(conversation_id)
            if existing is None:
                raise
            return existing, False
        return self.get(new_id), True

    def watched(self, conversation_id: str, recently: dt.timedelta = dt.timedelta(minutes=15)) -> bool:
        """Whether agents follow this conversation: it has an open handoff, or one closed
        within ``recently`` (the agent sees the bot take over again)."""
        since = _now() - recently
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(handoffs.c.id)
                .where(handoffs.c.conversation_id == conversation_id,
                       sa.or_(handoffs.c.status.in_(OPEN_STATUSES), handoffs.c.closed_at >= since,
                              handoffs.c.abandoned_at >= since))
                .limit(1)
            ).first() is not None

    def followed(self, conversation_id: str, recently: dt.timedelta = dt.timedelta(minutes=15)) -> Optional[Handoff]:
        """The handoff agents follow this conversation by (see ``watched``), newest first; None if none."""
        since = _now() - recently
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(handoffs)
                .where(handoffs.c.conversation_id == conversation_id,
                       sa.or_(handoffs.c.status.in_(OPEN_STATUSES), handoffs.c.closed_at >= since,
                              handoffs.c.abandoned_at >= since))
                .order_by(handoffs.c.id.desc()).limit(1)
            ).first()
        return self._handoff(row) if row else None

    def get(self, handoff_id: int) -> Optional[Handoff]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(handoffs).where(handoffs.c.id == handoff_id)).first()
        return self._handoff(row) if row else None

    def list(self, statuses=("queued", "active"), limit: int = 100, offset: int = 0) -> List[Handoff]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoffs)
                .where(handoffs.c.status.in_(statuses))
                .order_by(handoffs.c.id)
                .limit(limit)
                .offset(offset)
            ).fetchall()
        return [self._handoff(r) for r in rows]

    def queue_position(self, handoff: Handoff) -> int:
        """1 for the next one served in its skill group's queue (others' queues do not delay it)."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(handoffs).where(
                    handoffs.c.status == "queued",
                    handoffs.c.skill_group == handoff.skill_group,
                    sa.or_(handoffs.c.priority > handoff.priority,
                           sa.and_(handoffs.c.priority == handoff.priority, handoffs.c.id <= handoff.id)),
                )
            ).scalar_one()

    def accept(self, handoff_id: int, agent_username: str) -> tuple:
        """Give a queued handoff to this agent.  Returns (handoff, newly_accepted);
        accepting one's own active handoff again is a no-op."""
        now = _now()
        with self.engine.begin() as conn:
            result = conn.execute(
                handoffs.update()
                .where(handoffs.c.id == handoff_id, handoffs.c.status == "queued")
                # A chat transferred back to a queue keeps its first answer's time.
                .values(status="active", agent_username=agent_username,
                        accepted_at=sa.func.coalesce(handoffs.c.accepted_at, now))
            )
            if result.rowcount:
                conn.execute(handoff_assignments.insert().values(
                    handoff_id=handoff_id, agent_username=agent_username, assigned_at=now))
        handoff = self.get(handoff_id)
        if handoff is None:
            raise LookupError(handoff_id)
        if result.rowcount == 0 and (handoff.status != "active" or handoff.agent_username != agent_username):
            raise HandoffConflict(f"This chat is already {handoff.status}" + (
                f" with {handoff.agent_username}." if handoff.status == "active" else "."))
        return handoff, result.rowcount == 1

    def close(self, handoff_id: int, agent_username: str, disposition: Optional[str] = None,
              tags: Optional[List[str]] = None) -> Handoff:
        now = _now()
        with self.engine.begin() as conn:
            result = conn.execute(
                handoffs.update()
                .where(handoffs.c.id == handoff_id, handoffs.c.status.in_(OPEN_STATUSES))
                .values(status="closed", closed_at=now, agent_username=sa.func.coalesce(handoffs.c.agent_username, agent_username),
                        disposition=disposition, tags=json.dumps(list(tags), ensure_ascii=False) if tags else None)
            )
            if result.rowcount:
                conn.execute(
                    handoff_assignments.update()
                    .where(handoff_assignments.c.handoff_id == handoff_id, handoff_assignments.c.ended_at.is_(None))
                    .values(ended_at=now, ended_reason="closed")
                )
        handoff = self.get(handoff_id)
        if handoff is None:
            raise LookupError(handoff_id)
        if result.rowcount == 0:
            raise HandoffConflict(f"handoff {handoff_id} is already closed")
        return handoff

    def leave_queue(self, handoff_id: int, status: str) -> Optional[Handoff]:
        """The customer went back to the bot (``cancelled``) or went away (``abandoned``)
        while still queued; None when an agent had it already (or it was over)."""
        if status not in ("cancelled", "abandoned"):
            raise ValueError(status)
        with self.engine.begin() as conn:
            taken = conn.execute(
                handoffs.update().where(handoffs.c.id == handoff_id, handoffs.c.status == "queued")
                .values(status=status, abandoned_at=_now())
            ).rowcount
        return self.get(handoff_id) if taken else None

    def rate(self, conversation_id: str, rating: int, comment: Optional[str] = None) -> Optional[Handoff]:
        """The customer's 1-5 rating of the last closed handoff of this conversation (and an
        optional comment, which may come after the number); a later rating replaces it."""
        if not 1 <= rating <= 5:
            raise ValueError("rating must be between 1 and 5")
        with self.engine.begin() as conn:
            handoff_id = conn.execute(
                sa.select(handoffs.c.id)
                .where(handoffs.c.conversation_id == conversation_id, handoffs.c.status == "closed")
                .order_by(handoffs.c.id.desc()).limit(1)
            ).scalar()
            if handoff_id is None:
                return None
            values = dict(rating=rating, rated_at=_now())
            if comment is not None:
                values["rating_comment"] = clean(comment)[:2000]
            conn.execute(handoffs.update().where(handoffs.c.id == handoff_id).values(**values))
        return self.get(handoff_id)

    @staticmethod
    def _handoff(row) -> Handoff:
        return Handoff(
            id=row.id,
            conversation_id=row.conversation_id,
            status=row.status,
            reason=row.reason,
            language=row.language,
            context=json.loads(row.context or "{}"),
            agent_username=row.agent_username,
            created_at=row.created_at,
            accepted_at=row.accepted_at,
            closed_at=row.closed_at,
            input_channel=row.input_channel,
            skill_group=row.skill_group,
            priority=row.priority,
            abandoned_at=row.abandoned_at,
            rating=row.rating,
            rating_comment=row.rating_comment,
            disposition=row.disposition,
            tags=json.loads(row.tags) if row.tags else [],
            customer_ref=row.customer_ref,
        )
