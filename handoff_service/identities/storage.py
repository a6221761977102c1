"""Which conversations belong to one customer: ``customer_identities``.

A customer who proves who they are (the accounts verification sets the slot
``customer_ref``) on the web today and on Telegram tomorrow is one person: each
(channel, sender id) they verified on is linked to their ``customer_ref``. The desk's
history shows the earlier conversations of every linked channel.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

metadata = sa.MetaData()

customer_identities = sa.Table(
    "customer_identities",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_ref", sa.String(64), nullable=False, index=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("linked_at", sa.DateTime, nullable=False),
    # A conversation belongs to one customer; a later verification as someone else relinks it.
    sa.UniqueConstraint("channel", "sender_id", name="uq_customer_identities_channel_sender"),
)


@dataclass(frozen=True)
class Identity:
    customer_ref: str
    channel: str
    sender_id: str
    linked_at: dt.datetime

    def as_json(self) -> dict:
        return {"customer_ref": self.customer_ref, "channel": self.channel, "conversation_id": self.sender_id,
                "linked_at": self.linked_at.isoformat()}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class IdentityRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def link(self, customer_ref: str, channel: str, sender_id: str) -> None:
        """Idempotent: the event stream may hand the same verification over twice."""
        values = {"customer_ref": customer_ref, "linked_at": _utcnow()}
        key = (customer_identities.c.channel == channel) & (customer_identities.c.sender_id == sender_id)
        with self.engine.begin() as conn:
            current = conn.execute(sa.select(customer_identities.c.customer_ref).where(key)).scalar()
            if current == customer_ref:
                return
            if current is not None:
                conn.execute(customer_identities.update().where(key).values(**values))
                return
            try:
                with conn.begin_nested():
                    conn.execute(customer_identities.insert().values(channel=channel, sender_id=sender_id, **values))
            except IntegrityError:  # linked by a concurrent consumer meanwhile
                conn.execute(customer_identities.update().where(key).values(**values))

    def customer_of(self, channel: Optional[str], sender_id: str) -> Optional[str]:
        """The customer a conversation is linked to (any channel when ``channel`` is None)."""
        query = sa.select(customer_identities.c.customer_ref).where(customer_identities.c.sender_id == sender_id)
        if channel:
            query = query.where(customer_identities.c.channel == channel)
        with self.engine.connect() as conn:
            return conn.execute(query.order_by(customer_identities.c.linked_at.desc()).limit(1)).scalar()

    def identities_of(self, customer_ref: str) -> List[Identity]:
        """Every conversation of the customer, the earliest linked first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(customer_identities).where(customer_identities.c.customer_ref == customer_ref)
                .order_by(customer_identities.c.linked_at, customer_identities.c.id)
            ).fetchall()
        return [Identity(r.customer_ref, r.channel, r.sender_id, r.linked_at) for r in rows]
