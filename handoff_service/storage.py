"""Storage of the web service: staff accounts, handoffs, transcripts, event cursor."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.secrets_hashing import hash_secret, verify_secret

metadata = sa.MetaData()

ROLES = ("agent", "editor", "supervisor", "admin")

staff_users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(80), nullable=False, unique=True),
    sa.Column("display_name", sa.String(120), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("roles", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

handoffs = sa.Table(
    "handoffs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # queued | active | closed
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("context", sa.Text, nullable=False, server_default="{}"),
    sa.Column("agent_username", sa.String(80)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("accepted_at", sa.DateTime),
    sa.Column("closed_at", sa.DateTime),
    sa.Index("ix_handoffs_status", "status"),
    sa.Index("ix_handoffs_conversation", "conversation_id"),
    # At most one open handoff per conversation, even for two requests at the same moment.
    sa.Index("uq_handoffs_open_conversation", "conversation_id", unique=True,
             sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'")),
)

transcript = sa.Table(
    "transcript_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # The event broker's row id: replaying the stream never duplicates a line.
    sa.Column("source_event_id", sa.BigInteger, nullable=False, unique=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("actor", sa.String(16), nullable=False),  # customer | bot | agent
    sa.Column("agent_username", sa.String(80)),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("intent", sa.String(120)),
    sa.Column("confidence", sa.Float),
    sa.Column("timestamp", sa.Float, nullable=False),
    sa.Index("ix_transcript_conversation", "conversation_id", "id"),
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

# A reply still "pending" this long after it was claimed is taken to have failed.
REPLY_PENDING_TIMEOUT = dt.timedelta(seconds=30)

cursors = sa.Table(
    "event_cursors",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)


def _now() -> dt.datetime:
    return dt.datetime.utcnow()


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    display_name: str
    roles: tuple

    def has_role(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles


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

    def as_json(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "status": self.status,
            "reason": self.reason,
            "language": self.language,
            "context": self.context,
            "agent": self.agent_username,
            "created_at": self.created_at.isoformat() + "Z",
            "accepted_at": self.accepted_at.isoformat() + "Z" if self.accepted_at else None,
            "closed_at": self.closed_at.isoformat() + "Z" if self.closed_at else None,
        }


@dataclass
class TranscriptLine:
    id: int
    source_event_id: int
    conversation_id: str
    actor: str
    text: str
    timestamp: float
    agent_username: Optional[str] = None
    intent: Optional[str] = None
    confidence: Optional[float] = None

    def as_json(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "event_id": self.source_event_id,
            "conversation_id": self.conversation_id,
            "actor": self.actor,
            "agent": self.agent_username,
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "timestamp": self.timestamp,
        }


class HandoffConflict(RuntimeError):
    pass


class StaffRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def upsert(self, username: str, display_name: str, password: str, roles: List[str]) -> None:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        values = dict(
            display_name=display_name,
            password_hash=hash_secret(password),
            roles=",".join(roles),
        )
        with self.engine.begin() as conn:
            found = conn.execute(
                sa.select(staff_users.c.id).where(staff_users.c.username == username)
            ).scalar()
            if found is None:
                conn.execute(staff_users.insert().values(username=username, created_at=_now(), **values))
            else:
                conn.execute(staff_users.update().where(staff_users.c.id == found).values(**values))

    def authenticate(self, username: str, password: str) -> Optional[StaffUser]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(staff_users).where(staff_users.c.username == username)
            ).first()
        if row is None or not verify_secret(password, row.password_hash):
            return None
        return self._user(row)

    def get(self, username: str) -> Optional[StaffUser]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(staff_users).where(staff_users.c.username == username)
            ).first()
        return self._user(row) if row else None

    @staticmethod
    def _user(row) -> StaffUser:
        return StaffUser(row.id, row.username, row.display_name, tuple(row.roles.split(",")))


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
                .where(handoffs.c.conversation_id == conversation_id, handoffs.c.status != "closed")
                .order_by(handoffs.c.id.desc())
            ).first()
        return self._handoff(row) if row else None

    def create(self, conversation_id: str, reason: str, language: str, context: Dict[str, Any]) -> tuple:
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
                       sa.or_(handoffs.c.status != "closed", handoffs.c.closed_at >= since))
                .limit(1)
            ).first() is not None

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
        """1 for the oldest waiting handoff."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count())
                .select_from(handoffs)
                .where(handoffs.c.status == "queued", handoffs.c.id <= handoff.id)
            ).scalar_one()

    def accept(self, handoff_id: int, agent_username: str) -> tuple:
        """Give a queued handoff to this agent.  Returns (handoff, newly_accepted);
        accepting one's own active handoff again is a no-op."""
        with self.engine.begin() as conn:
            result = conn.execute(
                handoffs.update()
                .where(handoffs.c.id == handoff_id, handoffs.c.status == "queued")
                .values(status="active", agent_username=agent_username, accepted_at=_now())
            )
        handoff = self.get(handoff_id)
        if handoff is None:
            raise LookupError(handoff_id)
        if result.rowcount == 0 and (handoff.status != "active" or handoff.agent_username != agent_username):
            raise HandoffConflict(f"This chat is already {handoff.status}" + (
                f" with {handoff.agent_username}." if handoff.status == "active" else "."))
        return handoff, result.rowcount == 1

    def close(self, handoff_id: int, agent_username: str) -> Handoff:
        with self.engine.begin() as conn:
            result = conn.execute(
                handoffs.update()
                .where(handoffs.c.id == handoff_id, handoffs.c.status != "closed")
                .values(status="closed", closed_at=_now(), agent_username=sa.func.coalesce(handoffs.c.agent_username, agent_username))
            )
        handoff = self.get(handoff_id)
        if handoff is None:
            raise LookupError(handoff_id)
        if result.rowcount == 0:
            raise HandoffConflict(f"handoff {handoff_id} is already closed")
        return handoff

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
        )


class TranscriptRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, line: Dict[str, Any]) -> Optional[TranscriptLine]:
        """Store one line; None when this source event was stored before (a replay,
        or another consumer got there first: the unique key decides)."""
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(transcript.insert().values(**line)).inserted_primary_key[0]
        except IntegrityError:
            return None
        return TranscriptLine(id=new_id, **line)

    def knows(self, conversation_id: str) -> bool:
        """Whether any line of this conversation is stored (an indexed lookup)."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(transcript.c.id).where(transcript.c.conversation_id == conversation_id).limit(1)
            ).first() is not None

    def for_conversation(self, conversation_id: str, limit: int = 500) -> List[TranscriptLine]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(transcript)
                .where(transcript.c.conversation_id == conversation_id)
                .order_by(transcript.c.id.desc())
                .limit(limit)
            ).fetchall()
        return [
            TranscriptLine(
                id=r.id,
                source_event_id=r.source_event_id,
                conversation_id=r.conversation_id,
                actor=r.actor,
                text=r.text,
                timestamp=r.timestamp,
                agent_username=r.agent_username,
                intent=r.intent,
                confidence=r.confidence,
            )
            for r in reversed(rows)
        ]


class CursorRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, name: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(cursors.c.position).where(cursors.c.name == name)).scalar() or 0

    def set(self, name: str, position: int) -> None:
        """Put the cursor at ``position``, also backwards (an operator replaying the stream)."""
        self._write(name, position, cursors.update().where(cursors.c.name == name))

    def advance(self, name: str, position: int) -> None:
        """Move the cursor forward to ``position``; never back.

        Two consumers finishing the same batch (a second replica, or a poll racing
        the background loop) both land here: the first creates the row, the other
        finds it, and a late one never undoes the other's progress.
        """
        self._write(name, position, cursors.update().where(cursors.c.name == name, cursors.c.position < position))

    def _write(self, name: str, position: int, update: Any) -> None:
        with self.engine.begin() as conn:
            if conn.execute(update.values(position=position)).rowcount:
                return
            if conn.execute(sa.select(cursors.c.name).where(cursors.c.name == name)).first() is not None:
                return  # the row is there and already where (or past where) it should be
        try:
            with self.engine.begin() as conn:
                conn.execute(cursors.insert().values(name=name, position=position))
        except IntegrityError:  # another consumer created it meanwhile
            with self.engine.begin() as conn:
                conn.execute(update.values(position=position))
