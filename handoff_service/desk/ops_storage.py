"""Storage of the desk's operations on a chat in hand (issue #7): private notes, whispers and
the notes of transfers (``handoff_notes``, migration 0015), and the moves of a handoff from
one holder to another (transfer, takeover, reassign) in ``handoffs`` / ``handoff_assignments``
/ ``handoff_transfers``.

A note never reaches the customer: it is not a Rasa event, only a row here, read by the
console next to the transcript. Notes are kept with the handoff they were written on and
listed for the whole conversation, so the next agent (and a later handoff of the same
customer) reads what the earlier ones wrote.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.text_checks import clean
from handoff_service.desk.storage import (
    Handoff, HandoffConflict, HandoffRepository, handoff_assignments, handoff_transfers, handoffs,
)
from handoff_service.storage import _now, metadata

# note: written by staff on the chat; whisper: a supervisor's word to the chat's agent;
# transfer: the note that goes with a transfer (to a team or an agent).
NOTE_KINDS = ("note", "whisper", "transfer")

handoff_notes = sa.Table(
    "handoff_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("handoff_id", sa.Integer, sa.ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("author", sa.String(80), nullable=False),
    sa.Column("author_name", sa.String(120), nullable=False),
    sa.Column("to_agent", sa.String(80)),
    sa.Column("to_skill_group", sa.String(32)),
    sa.Column("text", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_handoff_notes_conversation", "conversation_id", "id"),
)


@dataclass
class Note:
    id: int
    handoff_id: int
    conversation_id: str
    kind: str
    author: str
    author_name: str
    text: str
    created_at: dt.datetime
    to_agent: Optional[str] = None
    to_skill_group: Optional[str] = None

    def as_json(self) -> Dict[str, Any]:
        return {
            "id": self.id, "handoff_id": self.handoff_id, "conversation_id": self.conversation_id,
            "kind": self.kind, "author": self.author, "author_name": self.author_name, "text": self.text,
            "to_agent": self.to_agent, "to_skill_group": self.to_skill_group,
            "created_at": self.created_at.isoformat() + "Z",
            # Seconds since the epoch, like transcript lines: the console orders both on one timeline.
            "timestamp": self.created_at.replace(tzinfo=dt.timezone.utc).timestamp(),
        }


def _note_values(handoff: Handoff, kind: str, author: str, author_name: str, text: str,
                 to_agent: Optional[str] = None, to_skill_group: Optional[str] = None) -> Dict[str, Any]:
    if kind not in NOTE_KINDS:
        raise ValueError(kind)
    return dict(handoff_id=handoff.id, conversation_id=handoff.conversation_id, kind=kind, author=author,
                author_name=author_name, text=clean(text), to_agent=to_agent, to_skill_group=to_skill_group,
                created_at=_now())


class NoteRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, handoff: Handoff, kind: str, author: str, author_name: str, text: str,
            to_agent: Optional[str] = None) -> Note:
        values = _note_values(handoff, kind, author, author_name, text, to_agent)
        with self.engine.begin() as conn:
            new_id = conn.execute(handoff_notes.insert().values(**values)).inserted_primary_key[0]
        return Note(id=new_id, **values)

    def for_conversation(self, conversation_id: str, limit: int = 500) -> List[Note]:
        """Every note on any handoff of this conversation, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoff_notes).where(handoff_notes.c.conversation_id == conversation_id)
                .order_by(handoff_notes.c.id.desc()).limit(limit)
            ).fetchall()
        return [self._note(r) for r in reversed(rows)]

    def get(self, note_id: int) -> Optional[Note]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(handoff_notes).where(handoff_notes.c.id == note_id)).first()
        return self._note(row) if row else None

    @staticmethod
    def _note(row) -> Note:
        return Note(id=row.id, handoff_id=row.handoff_id, conversation_id=row.conversation_id, kind=row.kind,
                    author=row.author, author_name=row.author_name, text=row.text, created_at=row.created_at,
                    to_agent=row.to_agent, to_skill_group=row.to_skill_group)


class MoveRepository:
    """A handoff changes hands in one transaction: the holder's assignment ends with the
    reason, the next one's begins, and the transfer (and its note) is recorded. The update
    names the holder it expects, so two moves of one chat at the same instant cannot both
    win: the later finds the chat changed and gets a conflict."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.handoffs = HandoffRepository(engine)

    def move(self, handoff: Handoff, ended_reason: str, to_agent: Optional[str] = None,
             to_skill_group: Optional[str] = None, transfer_by: Optional[str] = None,
             note: Optional[Dict[str, Any]] = None) -> tuple:
        """Give an active ``handoff`` (as read by the caller) to ``to_agent``, or put it back
        in the queue of ``to_skill_group`` when no agent is named. ``transfer_by`` records a
        transfer; ``note`` (author, author_name, text) adds a transfer note.
        Returns (handoff, note or None)."""
        now = _now()
        values: Dict[str, Any] = {"agent_username": to_agent, "status": "active" if to_agent else "queued"}
        if to_skill_group:
            values["skill_group"] = to_skill_group
        # accepted_at stays the first answer: speed of answer is the customer's first wait,
        # handle time the whole time with agents (docs/dashboard.md).
        saved_note = None
        with self.engine.begin() as conn:
            taken = conn.execute(
                handoffs.update().where(handoffs.c.id == handoff.id, handoffs.c.status == "active",
                                        handoffs.c.agent_username == handoff.agent_username).values(**values)
            ).rowcount
            if not taken:
                raise HandoffConflict("This chat changed meanwhile (closed or moved by someone else); look again.")
            conn.execute(
                handoff_assignments.update()
                .where(handoff_assignments.c.handoff_id == handoff.id, handoff_assignments.c.ended_at.is_(None))
                .values(ended_at=now, ended_reason=ended_reason)
            )
            if to_agent:
                conn.execute(handoff_assignments.insert().values(handoff_id=handoff.id, agent_username=to_agent,
                                                                  assigned_at=now))
            if transfer_by:
                conn.execute(handoff_transfers.insert().values(
                    handoff_id=handoff.id, from_agent=transfer_by, to_skill_group=to_skill_group if not to_agent else None,
                    to_agent=to_agent, note=clean((note or {}).get("text") or ""), created_at=now))
            if note:
                values_note = _note_values(handoff, "transfer", note["author"], note["author_name"], note["text"],
                                           to_agent=to_agent, to_skill_group=to_skill_group)
                note_id = conn.execute(handoff_notes.insert().values(**values_note)).inserted_primary_key[0]
                saved_note = Note(id=note_id, **values_note)
        return self.handoffs.get(handoff.id), saved_note

    def transfers(self, handoff_id: int) -> List[Dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(handoff_transfers).where(handoff_transfers.c.handoff_id == handoff_id)
                                .order_by(handoff_transfers.c.id)).fetchall()
        return [{"from_agent": r.from_agent, "to_agent": r.to_agent, "to_skill_group": r.to_skill_group,
                 "note": r.note, "created_at": r.created_at.isoformat() + "Z"} for r in rows]
