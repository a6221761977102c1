"""Everything held about one customer: exported as JSON, or erased, in every store.

A customer's conversations are found by what the bot recorded when it verified them
(the ``customer_id`` slot, the ``account_phone`` they typed) and by the handoffs whose
context names them. Erasing then:

- deletes those conversations' events from Rasa's tracker store and from the event
  broker's table (Rasa starts a fresh conversation if the customer writes again);
- keeps every transcript line and handoff row, so counts and figures stay right, but
  without their words: transcript text becomes "[erased]", the conversation id a
  random pseudonym, the handoff's context (name, masked phone, intent) is dropped;
- keeps the account row with its figures, its name and phone replaced;
- deletes the links of their chats on every channel (``customer_identities``), the
  desk's tickets (callback numbers, messages), and the questions the bot could not
  answer in those chats (``kb_unanswered``, masked but their words); keeps the
  feedback on FAQ answers (``kb_faq_feedback``) under the conversation's pseudonym.

The chat history that Rasa keeps in memory for reconnecting web chats
(``bot/channels/history.py``) cannot be reached from here: it holds at most the last
30 messages of a conversation and is gone when the Rasa server restarts.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, Dict, List, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from actions.accounts import AccountRepository, customers, normalise_phone
from handoff_service.privacy import rasa_tables
from handoff_service.desk.storage import desk_tickets, handoffs
from handoff_service.identities.storage import customer_identities
from handoff_service.storage import transcript
from knowledge_base.storage import faq_feedback
from knowledge_base.unanswered import unanswered

ERASED_TEXT = "[erased]"
PSEUDONYM_PREFIX = "erased-"


class NoSuchCustomer(LookupError):
    pass


def pseudonym() -> str:
    """A conversation id that links the kept rows of one conversation to each other, and to nothing else."""
    return PSEUDONYM_PREFIX + uuid.uuid4().hex


def _iso(value: Any) -> Any:
    return value.isoformat() + "Z" if isinstance(value, dt.datetime) else value


class CustomerRecords:
    def __init__(self, app_engine: Engine, tracker_engine: Engine, broker_engine: Engine):
        self.app = app_engine
        self.tracker = tracker_engine
        self.broker = broker_engine
        self.accounts = AccountRepository(app_engine)

    def find(self, customer_id: int = None, phone: str = None) -> int:
        """The customer's id, from the id or the phone number a staff member was given."""
        with self.app.connect() as conn:
            clause = customers.c.id == customer_id if customer_id else customers.c.phone == normalise_phone(phone or "")
            found = conn.execute(sa.select(customers.c.id).where(clause)).scalar()
        if found is None:
            raise NoSuchCustomer("No customer with that id or phone number.")
        return found

    def conversations_of(self, customer_id: int) -> Set[str]:
        customer = self.accounts.get(customer_id)
        if customer is None:
            raise NoSuchCustomer(f"No customer {customer_id}.")
        found: Set[str] = set()
        for engine in (self.tracker, self.broker):
            table = rasa_tables.events_table(engine)
            if table is None:
                continue
            for sender_id, name, value in rasa_tables.slot_events(engine, table, ("customer_id", "account_phone")):
                if (name == "customer_id" and value is not None and _same_id(value, customer_id)) or (
                    name == "account_phone" and value and normalise_phone(str(value)) == customer.phone
                ):
                    found.add(sender_id)
        for row in self._handoff_rows(f'%"id": {customer_id}%'):
            if _same_id((json.loads(row.context or "{}").get("customer") or {}).get("id"), customer_id):
                found.add(row.conversation_id)
        # Every chat they verified on, on any channel (channels #10: customer_identities).
        with self.app.connect() as conn:
            found.update(conn.execute(
                sa.select(customer_identities.c.sender_id).where(customer_identities.c.customer_ref == str(customer_id))
            ).scalars())
        return found

    def _handoff_rows(self, pattern: str) -> list:
        with self.app.connect() as conn:
            return conn.execute(sa.select(handoffs).where(handoffs.c.context.like(pattern))).fetchall()

    def export(self, customer_id: int) -> Dict[str, Any]:
        """Everything held about the customer, as JSON-ready data (the PIN hash excepted)."""
        conversations = sorted(self.conversations_of(customer_id))
        with self.app.connect() as conn:
            account = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).mappings().first()
            handoff_rows = conn.execute(
                sa.select(handoffs).where(handoffs.c.conversation_id.in_(conversations))
            ).mappings().fetchall()
            lines = conn.execute(
                sa.select(transcript).where(transcript.c.conversation_id.in_(conversations)).order_by(transcript.c.id)
            ).mappings().fetchall()
            linked = self._rows(conn, customer_identities, customer_identities.c.customer_ref == str(customer_id))
            tickets = self._rows(conn, desk_tickets, self._tickets_of(customer_id, conversations))
            unanswered_rows = self._rows(conn, unanswered, unanswered.c.conversation_id.in_(conversations))
            feedback = self._rows(conn, faq_feedback, faq_feedback.c.conversation_id.in_(conversations))
        result = {
            "exported_at": _iso(dt.datetime.utcnow()),
            "account": {k: _iso(v) for k, v in account.items() if k != "pin_hash"},
            "channels": linked,
            # The callback number stays encrypted: the export shows it as staff see it.
            "tickets": [{k: v for k, v in t.items() if k != "phone_encrypted"} for t in tickets],
            "unanswered_questions": unanswered_rows,
            "answer_feedback": feedback,
            "conversations": {},
        }
        for conversation in conversations:
            result["conversations"][conversation] = {
                "handoffs": [
                    {**{k: _iso(v) for k, v in h.items() if k != "context"}, "context": json.loads(h["context"] or "{}")}
                    for h in handoff_rows if h["conversation_id"] == conversation
                ],
                "transcript": [{k: _iso(v) for k, v in l.items()} for l in lines if l["conversation_id"] == conversation],
                "bot_events": self._rasa_events(self.tracker, conversation),
                "event_stream": self._rasa_events(self.broker, conversation),
            }
        return result

    @staticmethod
    def _rows(conn, table: sa.Table, condition) -> List[Dict[str, Any]]:
        return [{k: _iso(v) for k, v in row.items()}
                for row in conn.execute(sa.select(table).where(condition).order_by(table.c.id)).mappings()]

    @staticmethod
    def _tickets_of(customer_id: int, conversations):
        return desk_tickets.c.conversation_id.in_(conversations) | (desk_tickets.c.customer_ref == str(customer_id))

    @staticmethod
    def _rasa_events(engine: Engine, conversation: str) -> List[Dict[str, Any]]:
        table = rasa_tables.events_table(engine)
        if table is None:
            return []
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(table.c.data).where(table.c.sender_id == conversation).order_by(table.c.id)
            ).fetchall()
        return [rasa_tables.parse(r.data) for r in rows]

    def erase(self, customer_id: int) -> Dict[str, int]:
        """Delete or anonymise the customer in every store; returns what was done, by store."""
        conversations = sorted(self.conversations_of(customer_id))
        counts = {"conversations": len(conversations)}
        for key, engine in (("bot_events_deleted", self.tracker), ("event_stream_deleted", self.broker)):
            table = rasa_tables.events_table(engine)
            counts[key] = 0
            if table is not None and conversations:
                with engine.begin() as conn:
                    condition = table.c.sender_id.in_(conversations)
                    counts[key] = (rasa_tables.delete_events(conn, table, condition) if engine is self.broker
                                   else conn.execute(table.delete().where(condition)).rowcount)
        counts.update(transcript_lines_anonymised=0, handoffs_anonymised=0, answer_feedback_anonymised=0)
        with self.app.begin() as conn:
            # privacy (#14): the links to their chats on every channel, the tickets they left,
            # and the (masked) questions the bot could not answer go; feedback on answers stays,
            # under the conversation's pseudonym, so the FAQ figures stay right.
            counts["channel_links_deleted"] = conn.execute(customer_identities.delete().where(
                (customer_identities.c.customer_ref == str(customer_id)) | customer_identities.c.sender_id.in_(conversations)
            )).rowcount
            counts["tickets_deleted"] = conn.execute(
                desk_tickets.delete().where(self._tickets_of(customer_id, conversations))).rowcount
            counts["unanswered_questions_deleted"] = conn.execute(
                unanswered.delete().where(unanswered.c.conversation_id.in_(conversations))).rowcount
            for conversation in conversations:
                replacement = pseudonym()
                counts["transcript_lines_anonymised"] += conn.execute(
                    transcript.update().where(transcript.c.conversation_id == conversation)
                    .values(conversation_id=replacement, text=ERASED_TEXT)
                ).rowcount
                counts["handoffs_anonymised"] += conn.execute(
                    handoffs.update().where(handoffs.c.conversation_id == conversation)
                    .values(conversation_id=replacement, context=json.dumps({"erased": True}),
                            rating_comment=None, customer_ref=None)
                ).rowcount
                counts["answer_feedback_anonymised"] += conn.execute(
                    faq_feedback.update().where(faq_feedback.c.conversation_id == conversation)
                    .values(conversation_id=replacement)
                ).rowcount
            conn.execute(customers.update().where(customers.c.id == customer_id).values(
                display_name=ERASED_TEXT, phone=f"{PSEUDONYM_PREFIX}{customer_id}", plan_name="",
            ))
        return counts


def _same_id(value: Any, customer_id: int) -> bool:
    try:
        return int(float(value)) == customer_id
    except (TypeError, ValueError):
        return False


class RequestRefused(ValueError):
    """A staff request for a customer's data that cannot be carried out as made."""


EXPORT, ERASE = "export", "erase"


def carry_out_request(records: CustomerRecords, log, requested_by: str, kind: str, reason: str,
                      customer_id: int = None, phone: str = None) -> Tuple[int, Dict[str, Any]]:
    """Export or erase one customer at a staff member's request, on record in the audit log
    (``log``: an ``AuditLog``). Returns the customer's id and the export or what was erased."""
    from handoff_service.audit import storage as audit

    reason = (reason or "").strip()
    if not 3 <= len(reason) <= 200:
        raise RequestRefused("Give the reason for the request (3 to 200 characters); it is recorded.")
    if not customer_id and not (phone or "").strip():
        raise RequestRefused("Give the customer's id or phone number.")
    found = records.find(customer_id, phone)
    if kind == EXPORT:
        result = records.export(found)
        log.record(requested_by, audit.CUSTOMER_DATA_EXPORTED, "customer", found, {"reason": reason})
    elif kind == ERASE:
        result = records.erase(found)
        log.record(requested_by, audit.CUSTOMER_DATA_ERASED, "customer", found, {"reason": reason, **result})
    else:
        raise ValueError(kind)
    return found, result
