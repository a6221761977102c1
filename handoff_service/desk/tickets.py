"""Callbacks and messages customers leave instead of waiting (``desk_tickets``).

The phone number is kept encrypted (Fernet, with a key derived from SESSION_SECRET) and
masked for display: the list and the logs show "•••••••8000"; the clear number is read
only by an agent who asks for it with a reason (recorded in the audit log by the console).
Personal data the customer typed into the message (phone, e-mail, ID ...) is kept as
typed, like a transcript line, and leaves masked, with ``message_segments`` numbering
each masked value for a reveal on record (``POST /agent/api/tickets/{id}/reveal``).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import List, Optional, Sequence

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Engine

from bot.privacy import mask_secrets, mask_value, masked_segments, personal_spans
from bot.text_checks import clean
from handoff_service.desk.storage import desk_tickets
from handoff_service.storage import _now

KINDS = ("callback", "message")


@dataclass
class Ticket:
    id: int
    kind: str
    conversation_id: str
    language: str
    skill_group: str
    status: str
    created_at: dt.datetime
    phone_masked: Optional[str] = None
    preferred_time: Optional[str] = None
    message: Optional[str] = None
    customer_ref: Optional[str] = None
    done_at: Optional[dt.datetime] = None
    done_by: Optional[str] = None

    def message_spans(self) -> list:
        """The personal data in the message, which staff see masked (see ``as_json``)."""
        return personal_spans(self.message) if self.message else []

    def as_json(self) -> dict:
        """The ticket as staff pages get it: the phone and the personal data in the message masked."""
        message, segments = masked_segments(self.message) if self.message else (self.message, [])
        shown = {
            "id": self.id, "kind": self.kind, "conversation_id": self.conversation_id, "language": self.language,
            "skill_group": self.skill_group, "status": self.status, "phone": self.phone_masked,
            "preferred_time": self.preferred_time, "message": message, "customer_ref": self.customer_ref,
            "created_at": self.created_at.isoformat() + "Z",
            "done_at": self.done_at.isoformat() + "Z" if self.done_at else None, "done_by": self.done_by,
        }
        if segments:
            shown["message_segments"] = segments
        return shown


class TicketRepository:
    def __init__(self, engine: Engine, secret: str):
        self.engine = engine
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"desk-tickets:" + secret.encode()).digest()))

    def create(self, kind: str, conversation_id: str, language: str, skill_group: str = "general",
               phone: Optional[str] = None, preferred_time: Optional[str] = None, message: Optional[str] = None,
               customer_ref: Optional[str] = None) -> Ticket:
        if kind not in KINDS:
            raise ValueError(kind)
        digits = "".join(c for c in phone or "" if c.isdigit() or c == "+")
        with self.engine.begin() as conn:
            new_id = conn.execute(desk_tickets.insert().values(
                kind=kind, conversation_id=conversation_id, language=language, skill_group=skill_group,
                phone_masked=mask_value("phone", digits) if digits else None,
                phone_encrypted=self._fernet.encrypt(digits.encode()).decode() if digits else None,
                preferred_time=clean(preferred_time)[:64] if preferred_time else None,
                # privacy (#14): a PIN typed into the message is never kept (as in the transcript).
                message=mask_secrets(clean(message)) if message else None, customer_ref=customer_ref,
                status="open", created_at=_now(),
            )).inserted_primary_key[0]
        return self.get(new_id)

    def get(self, ticket_id: int) -> Optional[Ticket]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(desk_tickets).where(desk_tickets.c.id == ticket_id)).first()
        return self._ticket(row) if row else None

    def list(self, status: str = "open", skill_groups: Optional[Sequence[str]] = None, limit: int = 200) -> List[Ticket]:
        query = sa.select(desk_tickets).where(desk_tickets.c.status == status)
        if skill_groups is not None:
            query = query.where(desk_tickets.c.skill_group.in_(list(skill_groups)))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(desk_tickets.c.created_at, desk_tickets.c.id).limit(limit)).fetchall()
        return [self._ticket(r) for r in rows]

    def done(self, ticket_id: int, username: str) -> Optional[Ticket]:
        """Mark it done; None when there is no such ticket. Done twice keeps the first."""
        with self.engine.begin() as conn:
            conn.execute(desk_tickets.update().where(desk_tickets.c.id == ticket_id, desk_tickets.c.status == "open")
                         .values(status="done", done_at=_now(), done_by=username))
        return self.get(ticket_id)

    def phone(self, ticket_id: int) -> Optional[str]:
        """The clear number to call (for an agent who asked for it)."""
        with self.engine.connect() as conn:
            token = conn.execute(sa.select(desk_tickets.c.phone_encrypted).where(desk_tickets.c.id == ticket_id)).scalar()
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:  # SESSION_SECRET changed since: the number cannot be read any more
            return None

    @staticmethod
    def _ticket(row) -> Ticket:
        return Ticket(
            id=row.id, kind=row.kind, conversation_id=row.conversation_id, language=row.language,
            skill_group=row.skill_group, status=row.status, created_at=row.created_at,
            phone_masked=row.phone_masked, preferred_time=row.preferred_time, message=row.message,
            customer_ref=row.customer_ref, done_at=row.done_at, done_by=row.done_by,
        )
