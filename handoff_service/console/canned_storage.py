"""Canned replies of the agent console (``canned_replies``): personal ones (``owner`` is the
agent) and team ones (``owner`` is NULL, managed by supervisors), one language each.

The text is stored as written (placeholders such as ``{customer_name}`` included); the
console fills placeholders when the agent inserts a reply, and the agent still reads and
sends it as their own message.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from handoff_service.storage import _now, metadata

SCOPES = ("personal", "team")
MAX_TITLE_CHARS = 80
# An agent's own list stays a picker, not a second knowledge base.
MAX_PERSONAL_REPLIES = 200
MAX_TEAM_REPLIES = 500

canned_replies = sa.Table(
    "canned_replies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner", sa.String(80)),  # NULL: a team reply
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("title", sa.String(MAX_TITLE_CHARS), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("updated_by", sa.String(80), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Index("ix_canned_replies_owner_language", "owner", "language"),
)


class DuplicateTitle(ValueError):
    """Another reply of the same owner (or the team) and language has this title."""


class TooMany(ValueError):
    """The owner (or the team) has as many replies as allowed."""


@dataclass
class CannedReply:
    id: int
    owner: Optional[str]
    language: str
    title: str
    body: str
    updated_by: str
    updated_at: dt.datetime

    @property
    def scope(self) -> str:
        return "personal" if self.owner else "team"

    def as_json(self) -> dict:
        return {"id": self.id, "scope": self.scope, "language": self.language, "title": self.title,
                "body": self.body, "updated_by": self.updated_by, "updated_at": self.updated_at.isoformat() + "Z"}


class CannedReplyRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def visible_to(self, username: str, language: Optional[str] = None) -> List[CannedReply]:
        """The agent's own replies, then the team's, each by title."""
        query = sa.select(canned_replies).where(
            sa.or_(canned_replies.c.owner == username, canned_replies.c.owner.is_(None)))
        if language is not None:
            query = query.where(canned_replies.c.language == language)
        query = query.order_by(canned_replies.c.owner.is_(None), canned_replies.c.title, canned_replies.c.id)
        with self.engine.connect() as conn:
            return [self._reply(r) for r in conn.execute(query)]

    def get(self, reply_id: int) -> Optional[CannedReply]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(canned_replies).where(canned_replies.c.id == reply_id)).first()
        return self._reply(row) if row else None

    def create(self, owner: Optional[str], language: str, title: str, body: str, author: str) -> CannedReply:
        now = _now()
        with self.engine.begin() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(canned_replies)
                                 .where(self._same_owner(owner))).scalar()
            if count >= (MAX_PERSONAL_REPLIES if owner else MAX_TEAM_REPLIES):
                raise TooMany(owner)
            self._check_title(conn, owner, language, title, None)
            new_id = conn.execute(canned_replies.insert().values(
                owner=owner, language=language, title=title, body=body, created_by=author, updated_by=author,
                created_at=now, updated_at=now)).inserted_primary_key[0]
        return self.get(new_id)

    def update(self, reply_id: int, author: str, **changes) -> Optional[CannedReply]:
        """Change ``language``, ``title`` or ``body``; None when the reply is gone."""
        current = self.get(reply_id)
        if current is None:
            return None
        with self.engine.begin() as conn:
            self._check_title(conn, current.owner, changes.get("language", current.language),
                              changes.get("title", current.title), reply_id)
            conn.execute(canned_replies.update().where(canned_replies.c.id == reply_id)
                         .values(**changes, updated_by=author, updated_at=_now()))
        return self.get(reply_id)

    def delete(self, reply_id: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(canned_replies.delete().where(canned_replies.c.id == reply_id)).rowcount > 0

    @staticmethod
    def _same_owner(owner: Optional[str]):
        return canned_replies.c.owner.is_(None) if owner is None else canned_replies.c.owner == owner

    def _check_title(self, conn, owner: Optional[str], language: str, title: str, except_id: Optional[int]) -> None:
        # Titles are what the picker filters on: two alike in one list would be ambiguous.
        query = sa.select(canned_replies.c.id).where(
            self._same_owner(owner), canned_replies.c.language == language,
            sa.func.lower(canned_replies.c.title) == title.lower())
        if except_id is not None:
            query = query.where(canned_replies.c.id != except_id)
        if conn.execute(query).first() is not None:
            raise DuplicateTitle(title)

    @staticmethod
    def _reply(row) -> CannedReply:
        return CannedReply(id=row.id, owner=row.owner, language=row.language, title=row.title, body=row.body,
                           updated_by=row.updated_by, updated_at=row.updated_at)
