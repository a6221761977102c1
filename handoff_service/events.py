"""Consumes Rasa's event stream and hands each event to small handlers.

Rasa's SQL event broker appends every tracker event to an ``events`` table (in its
own database).  The consumer reads it in order from a cursor kept in the app
database, so a restart neither loses nor repeats work: handlers are idempotent
on the broker's row id, and the cursor moves only after they ran.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.database import create_engine
from bot.secret_prompts import MASK, SECRET_SLOTS
from handoff_service.hub import AgentHub
from handoff_service.storage import CursorRepository, HandoffRepository, TranscriptRepository

logger = logging.getLogger(__name__)

# Rasa's text for messages created by /trigger_intent (rasa.shared.constants).
EXTERNAL_MESSAGE_PREFIX = "EXTERNAL: "

StreamEvent = Tuple[int, str, Dict[str, Any]]  # (broker row id, conversation id, event)
Handler = Callable[[int, str, Dict[str, Any]], Awaitable[None]]


class SqlEventSource:
    """Reads the table Rasa's SQLEventBroker writes."""

    def __init__(self, url: str):
        self.engine = create_engine(url)

    def fetch(self, after: int, limit: int = 200) -> List[StreamEvent]:
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT id, sender_id, data FROM events WHERE id > :after ORDER BY id LIMIT :limit"),
                    {"after": after, "limit": limit},
                ).fetchall()
        except (OperationalError, ProgrammingError):
            # Rasa creates the table when it starts; until then there is nothing to read.
            return []
        result = []
        for row in rows:
            try:
                result.append((row.id, row.sender_id, json.loads(row.data)))
            except (TypeError, ValueError):
                logger.warning("skipping unreadable broker event %s", row.id)
        return result

    def last_requested_slot(self, conversation_id: str, before: int) -> Optional[str]:
        """The slot the bot was asking for in this conversation just before event ``before``.

        Read from the stream itself, so a restarted (or second) consumer still knows
        that the customer's next words answer a secret prompt. A database error is
        raised, not taken for "nothing asked": the batch is retried rather than a PIN
        stored in clear.
        """
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT data FROM events WHERE sender_id = :conversation AND id < :before "
                    "AND data LIKE :pattern ORDER BY id DESC LIMIT 20"
                ),
                {"conversation": conversation_id, "before": before, "pattern": '%"requested_slot"%'},
            ).fetchall()
        for row in rows:
            try:
                event = json.loads(row.data)
            except (TypeError, ValueError):
                continue
            if event.get("event") == "slot" and event.get("name") == "requested_slot":
                return event.get("value")
        return None

    def dispose(self) -> None:
        self.engine.dispose()


class EventStreamConsumer:
    def __init__(self, source: SqlEventSource, cursors: CursorRepository, handlers: List[Handler], name: str = "web"):
        self.source = source
        self.cursors = cursors
        self.handlers = handlers
        self.name = name

    async def poll_once(self) -> int:
        position = await asyncio.to_thread(self.cursors.get, self.name)
        batch = await asyncio.to_thread(self.source.fetch, position)
        for event_id, conversation_id, event in batch:
            for handler in self.handlers:
                await handler(event_id, conversation_id, event)
            position = event_id
        if batch:
            await asyncio.to_thread(self.cursors.advance, self.name, position)
        return len(batch)

    async def run(self, poll_interval: float) -> None:
        while True:
            try:
                if await self.poll_once():
                    continue  # more may be waiting
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("event stream consumer failed; retrying")
            await asyncio.sleep(poll_interval)


def transcript_line(event_id: int, conversation_id: str, event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The transcript line for a user or bot event, or None for other events."""
    kind = event.get("event")
    text = event.get("text")
    if kind not in ("user", "bot") or not text:
        return None
    if kind == "user" and text.startswith(EXTERNAL_MESSAGE_PREFIX):
        return None  # an intent the service triggered (e.g. handoff closed), not the customer's words
    line: Dict[str, Any] = {
        "source_event_id": event_id,
        "conversation_id": conversation_id,
        "text": text,
        "timestamp": float(event.get("timestamp") or 0),
        "agent_username": None,
        "intent": None,
        "confidence": None,
    }
    if kind == "user":
        intent = (event.get("parse_data") or {}).get("intent") or {}
        line.update(actor="customer", intent=intent.get("name"), confidence=intent.get("confidence"))
    else:
        metadata = event.get("metadata") or {}
        if metadata.get("sender") == "agent":
            line.update(actor="agent", agent_username=metadata.get("agent_username"))
        else:
            line.update(actor="bot")
    return line


class TranscriptHandler:
    """Keeps the transcript of every conversation and relays new lines to agents,
    only of conversations agents follow (a handoff open or just closed): the bot's
    other chats are none of the consoles' business.

    A customer's answer to a secret prompt (the service PIN) is stored masked:
    the stream says which slot the bot asked for before the customer answers.
    What was asked is remembered for recent conversations and otherwise read
    back from the stream (after a restart, the prompt came before the cursor).
    """

    REMEMBERED_CONVERSATIONS = 10_000

    def __init__(self, transcripts: TranscriptRepository, hub: AgentHub, source: SqlEventSource,
                 handoffs: HandoffRepository):
        self.transcripts = transcripts
        self.handoffs = handoffs
        self.hub = hub
        self.source = source
        self._asking_for: "OrderedDict[str, Optional[str]]" = OrderedDict()

    def _remember(self, conversation_id: str, slot: Optional[str]) -> None:
        self._asking_for[conversation_id] = slot
        self._asking_for.move_to_end(conversation_id)
        while len(self._asking_for) > self.REMEMBERED_CONVERSATIONS:
            self._asking_for.popitem(last=False)

    async def _asked_for(self, conversation_id: str, event_id: int) -> Optional[str]:
        if conversation_id not in self._asking_for:
            # Reading back through Rasa's (unindexed) event table is only worth it for a
            # conversation with lines already stored: a prompt is always a stored bot line,
            # so a conversation new to the transcript cannot be waiting for a secret.
            known = await asyncio.to_thread(self.transcripts.knows, conversation_id)
            slot = await asyncio.to_thread(self.source.last_requested_slot, conversation_id, event_id) if known else None
            self._remember(conversation_id, slot)
        return self._asking_for[conversation_id]

    async def __call__(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> None:
        if event.get("event") == "slot" and event.get("name") == "requested_slot":
            self._remember(conversation_id, event.get("value"))
            return
        line = transcript_line(event_id, conversation_id, event)
        if line is None:
            return
        if line["actor"] == "customer" and await self._asked_for(conversation_id, event_id) in SECRET_SLOTS:
            line["text"] = MASK
        stored = await asyncio.to_thread(self.transcripts.add, line)
        if stored is not None and await asyncio.to_thread(self.handoffs.watched, conversation_id):
            await self.hub.broadcast({"type": "transcript", "line": stored.as_json()})
