"""Storage of the web service: staff accounts, transcripts, event cursor. The desk's handoff
tables live in ``handoff_service.desk.storage`` on this module's ``metadata``."""
from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.privacy import masked_segments, personal_spans
from bot.secrets_hashing import hash_secret, verify_secret
from bot.text_checks import clean

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
    # Sessions carry the version they were issued under; logout, a new password or
    # changed roles bump it, and every older session of this user stops working at once.
    sa.Column("session_version", sa.Integer, nullable=False, server_default="0"),
)

# Failed (and in-progress) staff logins, kept in the database so no flood of other
# usernames can push a locked one out, and every replica sees the same count.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(80), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("attempted_at", sa.Float, nullable=False),  # seconds since the epoch
    sa.Index("ix_login_failures_pair", "username", "address", "attempted_at"),
    sa.Index("ix_login_failures_address", "address", "attempted_at"),
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

cursors = sa.Table(
    "event_cursors",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)

# Broker rows a handler failed on again and again, set aside so the stream goes on.
# Only ids and class names: the event itself stays in Rasa's broker table.
set_aside_events = sa.Table(
    "set_aside_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("consumer", sa.String(64), nullable=False),
    sa.Column("source_event_id", sa.BigInteger, nullable=False),
    sa.Column("handler", sa.String(120), nullable=False),
    sa.Column("error_class", sa.String(120), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("consumer", "source_event_id", "handler", name="uq_set_aside_event_handler"),
    sa.Index("ix_set_aside_created", "created_at"),
)


def _now() -> dt.datetime:
    return dt.datetime.utcnow()


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    display_name: str
    roles: tuple
    session_version: int = 0

    def has_role(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles


# Whose lines are shown with personal data masked. The bot's lines are its own texts
# (FAQ answers in Markdown, replies that mask what they quote), not what people typed.
PERSONAL_DATA_MASKED_FOR = ("customer", "agent")


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

    def personal_spans(self) -> list:
        """The personal data in this line that staff see masked (see ``as_json``)."""
        return personal_spans(self.text) if self.actor in PERSONAL_DATA_MASKED_FOR else []

    def as_json(self) -> Dict[str, Any]:
        """The line as staff pages get it. The table keeps what was typed (secrets
        already masked); personal data a customer or agent typed (phone, ID, card,
        e-mail, address) leaves masked, with ``segments`` numbering each masked value
        for a reveal (``POST /agent/api/handoffs/{id}/lines/{line}/reveal``, on record)."""
        text, segments = self.text, []
        if self.actor in PERSONAL_DATA_MASKED_FOR:
            text, segments = masked_segments(self.text)
        line = {
            "id": self.id,
            "event_id": self.source_event_id,
            "conversation_id": self.conversation_id,
            "actor": self.actor,
            "agent": self.agent_username,
            "text": text,
            "intent": self.intent,
            "confidence": self.confidence,
            "timestamp": self.timestamp,
        }
        if segments:
            line["segments"] = segments
        return line


class StaffRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def upsert(self, username: str, display_name: str, password: str, roles: List[str]) -> None:
        """Create or update a staff login. A new password or other roles end the
        sessions this user has open (see ``end_sessions``)."""
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
                sa.select(staff_users).where(staff_users.c.username == username)
            ).first()
            if found is None:
                conn.execute(staff_users.insert().values(username=username, created_at=_now(), **values))
                return
            if found.roles != values["roles"] or not verify_secret(password, found.password_hash):
                values["session_version"] = staff_users.c.session_version + 1
            conn.execute(staff_users.update().where(staff_users.c.id == found.id).values(**values))

    def remove(self, username: str) -> bool:
        """Delete a staff login; its sessions fail their next request (no user)."""
        with self.engine.begin() as conn:
            return conn.execute(staff_users.delete().where(staff_users.c.username == username)).rowcount > 0

    def end_sessions(self, username: str) -> None:
        """Invalidate every session issued to this user so far (logout)."""
        with self.engine.begin() as conn:
            conn.execute(
                staff_users.update().where(staff_users.c.username == username)
                .values(session_version=staff_users.c.session_version + 1)
            )

    def authenticate(self, username: str, password: str) -> Optional[StaffUser]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(staff_users).where(staff_users.c.username == username)
            ).first()
        # An unknown name costs the same hash as a wrong password: the answer's timing
        # must not tell which staff usernames exist.
        matches = verify_secret(password, row.password_hash if row is not None else _unknown_user_hash())
        if row is None or not matches:
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
        return StaffUser(row.id, row.username, row.display_name, tuple(row.roles.split(",")), row.session_version)


@functools.lru_cache(maxsize=1)
def _unknown_user_hash() -> str:
    """A hash of a random password, made once per process, checked against for unknown usernames."""
    return hash_secret(secrets.token_urlsafe(16))


class LoginFailureRepository:
    """Failed staff logins per (username, address), for ``auth.LoginThrottle``."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, username: str, address: str, at: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(login_failures.insert().values(username=username, address=address, attempted_at=at))

    def since(self, username: str, address: str, since: float, limit: int) -> List[float]:
        """Times of the newest ``limit`` failures of this pair after ``since``, oldest first."""
        return self._times(since, limit, login_failures.c.username == username, login_failures.c.address == address)

    def from_address_since(self, address: str, since: float, limit: int) -> List[float]:
        """Times of the newest ``limit`` failures from this address, any username, oldest first."""
        return self._times(since, limit, login_failures.c.address == address)

    def _times(self, since: float, limit: int, *conditions) -> List[float]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(login_failures.c.attempted_at)
                .where(*conditions, login_failures.c.attempted_at > since)
                .order_by(login_failures.c.attempted_at.desc()).limit(limit)
            ).scalars().all()
        return sorted(rows)

    def clear(self, username: str, address: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(login_failures.delete().where(
                login_failures.c.username == username, login_failures.c.address == address))

    def forget_before(self, before: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(login_failures.delete().where(login_failures.c.attempted_at < before))


class TranscriptRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, line: Dict[str, Any]) -> Optional[TranscriptLine]:
        """Store one line; None when this source event was stored before (a replay,
        or another consumer got there first: the unique key decides).

        Text no database takes (a lone UTF-16 surrogate, NUL) is replaced first: the
        channels check what enters, and this line must never fail on what got past.
        """
        line = {k: clean(v) if isinstance(v, str) else v for k, v in line.items()}
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(transcript.insert().values(**line)).inserted_primary_key[0]
        except IntegrityError:
            return None
        return TranscriptLine(id=new_id, **line)

    def add_many(self, lines: List[Dict[str, Any]]) -> List[Optional[TranscriptLine]]:
        """:meth:`add` for several lines in one transaction, in order; None for a line
        stored before. A line stored by another consumer while this runs fails the whole
        transaction (IntegrityError): the caller then adds them one by one."""
        lines = [{k: clean(v) if isinstance(v, str) else v for k, v in line.items()} for line in lines]
        with self.engine.begin() as conn:
            stored = set(conn.execute(sa.select(transcript.c.source_event_id).where(
                transcript.c.source_event_id.in_([line["source_event_id"] for line in lines]))).scalars())
            out: List[Optional[TranscriptLine]] = []
            for line in lines:
                if line["source_event_id"] in stored:
                    out.append(None)
                    continue
                stored.add(line["source_event_id"])
                new_id = conn.execute(transcript.insert().values(**line)).inserted_primary_key[0]
                out.append(TranscriptLine(id=new_id, **line))
        return out

    def knows(self, conversation_id: str) -> bool:
        """Whether any line of this conversation is stored (an indexed lookup)."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(transcript.c.id).where(transcript.c.conversation_id == conversation_id).limit(1)
            ).first() is not None

    def get(self, line_id: int) -> Optional[TranscriptLine]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(transcript).where(transcript.c.id == line_id)).first()
        return _line(row) if row is not None else None

    def for_conversation(self, conversation_id: str, limit: int = 500) -> List[TranscriptLine]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(transcript)
                .where(transcript.c.conversation_id == conversation_id)
                .order_by(transcript.c.id.desc())
                .limit(limit)
            ).fetchall()
        return [_line(r) for r in reversed(rows)]


def _line(r) -> TranscriptLine:
    return TranscriptLine(
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


class SetAsideRepository:
    """Broker rows a consumer's handler could not handle, kept for an operator."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, consumer: str, source_event_id: int, handler: str, error_class: str, attempts: int) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(set_aside_events.insert().values(
                    consumer=consumer, source_event_id=source_event_id, handler=handler[:120],
                    error_class=error_class[:120], attempts=attempts, created_at=_now(),
                ))
        except IntegrityError:  # another replica set the same row aside first
            pass

    def count_since(self, since: dt.datetime) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(set_aside_events).where(set_aside_events.c.created_at >= since)
            ).scalar_one()

    def total(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(set_aside_events)).scalar_one()


# The handoff tables moved to handoff_service.desk.storage; code written before the move
# (other branches being merged) still finds them here. Resolved lazily: the desk's storage
# imports this module's metadata.
_MOVED_TO_DESK = frozenset({
    "handoffs", "agent_replies", "Handoff", "HandoffConflict", "HandoffRepository",
    "NO_PUSH_CHANNELS", "REPLY_PENDING_TIMEOUT",
})


def __getattr__(name: str):
    if name in _MOVED_TO_DESK:
        from handoff_service.desk import storage as desk_storage
        return getattr(desk_storage, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
