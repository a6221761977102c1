"""Consumes Rasa's event stream and hands each event to small handlers.

Rasa's SQL event broker appends every tracker event to an ``events`` table (in its
own database).  The consumer reads it in order from a cursor kept in the app
database, so a restart neither loses nor repeats work: handlers are idempotent
on the broker's row id, and the cursor moves only after they ran.

No single row can stop the stream: a row a handler fails on ``max_attempts``
times in a row is set aside (recorded by id, handler and error class in
``set_aside_events``, logged in one line) and the consumer goes on with the next.
An unreachable database is not the row's fault: it is retried, with growing
pauses, until the database is back, and ``/healthz`` shows the growing lag.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.database import create_engine
from bot.privacy import mask_secrets
from bot.secret_prompts import expected_secret
from handoff_service.hub import AgentHub
from handoff_service.desk.audience import AudienceRepository
from handoff_service.desk.storage import HandoffRepository
from handoff_service.storage import CursorRepository, SetAsideRepository, TranscriptRepository
from handoff_service.stream_wakeup import PollingWakeup

logger = logging.getLogger(__name__)

# Rasa's text for messages created by /trigger_intent (rasa.shared.constants).
EXTERNAL_MESSAGE_PREFIX = "EXTERNAL: "

# (broker row id, conversation id, event); the event is None when the row is not a JSON object.
StreamEvent = Tuple[int, str, Optional[Dict[str, Any]]]
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
                event = json.loads(row.data)
            except (TypeError, ValueError, RecursionError):
                event = None
            result.append((row.id, row.sender_id, event if isinstance(event, dict) else None))
        return result

    def newest(self) -> int:
        """The newest row id in the stream (0 when empty)."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(sa.text("SELECT MAX(id) FROM events")).scalar() or 0
        except (OperationalError, ProgrammingError):
            return 0

    def timestamp_after(self, after: int) -> Optional[float]:
        """When the first row after ``after`` happened (the event's own timestamp), if any."""
        try:
            with self.engine.connect() as conn:
                data = conn.execute(
                    sa.text("SELECT data FROM events WHERE id > :after ORDER BY id LIMIT 1"), {"after": after}
                ).scalar()
            return float(json.loads(data).get("timestamp") or 0) or None
        except (OperationalError, ProgrammingError, TypeError, ValueError, AttributeError):
            return None

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
    # Rows set aside within this window make /healthz answer "degraded".
    SET_ASIDE_ALERT_WINDOW = dt.timedelta(minutes=15)
    MAX_RETRY_PAUSE = 5.0  # seconds between tries while the stream is stuck

    def __init__(self, source: SqlEventSource, cursors: CursorRepository, handlers: List[Handler],
                 set_aside: SetAsideRepository, name: str = "web", max_attempts: int = 3,
                 wakeup: Optional[PollingWakeup] = None):
        self.source = source
        # Between polls: a plain pause, or (PostgreSQL) until Rasa writes the next row.
        self.wakeup = wakeup or PollingWakeup()
        self.cursors = cursors
        self.handlers = handlers
        self.set_aside = set_aside
        self.name = name
        self.max_attempts = max_attempts
        # How often each handler failed on the row the stream stopped at, and the handlers
        # set aside on it: only that row is ever counted, so these never grow. Counted per
        # handler, so a row two handlers cannot read is set aside by each in turn instead of
        # the two resetting each other's count for ever.
        self._failures: Dict[Tuple[int, str], int] = {}
        self._given_up: Set[Tuple[int, str]] = set()

    async def poll_once(self) -> int:
        """Handle the next batch; returns how many rows the cursor moved past.

        A handler's error stops the batch at that row (the rows before it count as
        done) and is raised, unless the row has now failed ``max_attempts`` times:
        then it is set aside and the batch goes on.
        """
        position = await asyncio.to_thread(self.cursors.get, self.name)
        batch = await asyncio.to_thread(self.source.fetch, position)
        done_as_batch = await self._handle_batch(batch)
        done = 0
        try:
            for event_id, conversation_id, event in batch:
                if event is None:  # no handler could read it, now or later
                    await self._set_aside(event_id, "SqlEventSource", "UnreadableEvent", 1)
                else:
                    for handler in self.handlers:
                        if handler not in done_as_batch:
                            await self._handle(handler, event_id, conversation_id, event)
                position = event_id
                done += 1
        finally:
            if done:
                await asyncio.to_thread(self.cursors.advance, self.name, position)
        return done

    async def _handle_batch(self, batch: List[StreamEvent]) -> List[Handler]:
        """Handlers that can take a whole batch at once (a ``handle_batch`` method, e.g. the
        dashboard's summaries: one transaction instead of one per event) get it first; the
        ones that took it are not called row by row. A handler that fails on the batch is
        called row by row instead, so a bad row is counted and set aside as usual. Such a
        handler must be idempotent per row like every other: when a later row stops the
        batch, the rows after it come again."""
        done: List[Handler] = []
        readable = [row for row in batch if row[2] is not None]
        for handler in self.handlers:
            if not readable or not hasattr(handler, "handle_batch"):
                continue
            if any((row[0], _handler_name(handler)) in self._given_up for row in readable):
                continue  # a row was set aside for it: row by row, skipping that one
            try:
                await handler.handle_batch(readable)
            except (asyncio.CancelledError, OperationalError):
                raise  # as in _handle: retried as a whole
            except Exception as error:
                logger.info("event stream: %s could not take the batch at once (%s); row by row",
                            _handler_name(handler), type(error).__name__)
                continue
            done.append(handler)
        return done

    async def _handle(self, handler: Handler, event_id: int, conversation_id: str, event: Dict[str, Any]) -> None:
        key = (event_id, _handler_name(handler))
        if key in self._given_up:
            return  # set aside on this row already; the other handlers are being retried
        try:
            await handler(event_id, conversation_id, event)
        except (asyncio.CancelledError, OperationalError):
            raise  # stopping, or the database is unreachable: not this row's fault, retried as a whole
        except Exception as error:
            self._failures = {k: n for k, n in self._failures.items() if k[0] == event_id}
            self._failures[key] = attempts = self._failures.get(key, 0) + 1
            if attempts < self.max_attempts:
                raise
            await self._set_aside(event_id, key[1], type(error).__name__, attempts)
            self._given_up = {k for k in self._given_up if k[0] == event_id} | {key}
            return
        self._failures.pop(key, None)

    async def _set_aside(self, event_id: int, handler: str, error: str, attempts: int) -> None:
        # Only ids and class names: an error's text may quote the customer's words.
        await asyncio.to_thread(self.set_aside.add, self.name, event_id, handler, error, attempts)
        logger.error("event stream row %s set aside: %s failed %d time(s) (%s)", event_id, handler, attempts, error)

    async def run(self, poll_interval: float) -> None:
        pause = poll_interval
        while True:
            try:
                if await self.poll_once():
                    pause = poll_interval
                    continue  # more may be waiting
                pause = poll_interval
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # One line, class name only (no message text in the log); longer pauses
                # while it lasts, so a stuck stream does not flood the log.
                pause = min(pause * 2, self.MAX_RETRY_PAUSE)
                logger.warning("event stream consumer: %s; retrying in %.1f s", type(error).__name__, pause)
                await asyncio.sleep(pause)
                continue
            await self.wakeup.wait(pause)

    async def health(self, lag_limit: float) -> Dict[str, Any]:
        """Where the consumer stands, and why it is degraded if it is (an empty list when fine)."""
        position = await asyncio.to_thread(self.cursors.get, self.name)
        newest = await asyncio.to_thread(self.source.newest)
        lag_seconds = 0.0
        if newest > position:
            oldest_pending = await asyncio.to_thread(self.source.timestamp_after, position)
            lag_seconds = max(0.0, time.time() - oldest_pending) if oldest_pending else 0.0
        since = dt.datetime.utcnow() - self.SET_ASIDE_ALERT_WINDOW
        set_aside_recently = await asyncio.to_thread(self.set_aside.count_since, since)
        reasons = []
        if lag_seconds > lag_limit:
            reasons.append(f"event stream {lag_seconds:.0f} s behind (limit {lag_limit:.0f} s)")
        if set_aside_recently:
            reasons.append(f"{set_aside_recently} event stream row(s) set aside in the last "
                           f"{int(self.SET_ASIDE_ALERT_WINDOW.total_seconds() // 60)} minutes")
        return {
            "position": position,
            "newest": newest,
            "lag_events": max(0, newest - position),
            "lag_seconds": round(lag_seconds, 1),
            "set_aside_recently": set_aside_recently,
            "set_aside_total": await asyncio.to_thread(self.set_aside.total),
            "reasons": reasons,
        }


def _handler_name(handler: Handler) -> str:
    return getattr(handler, "__name__", None) or type(handler).__name__


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

    Secrets are masked again here (the tracker store already masked what Rasa
    streams; this keeps older rows and agents' own lines in line): a customer's bare
    number is the PIN when it answers the PIN prompt, and the stream says which slot
    the bot asked for before the customer answers.
    What was asked is remembered for recent conversations and otherwise read
    back from the stream (after a restart, the prompt came before the cursor).
    """

    REMEMBERED_CONVERSATIONS = 10_000

    def __init__(self, transcripts: TranscriptRepository, hub: AgentHub, source: SqlEventSource,
                 handoffs: HandoffRepository):
        self.transcripts = transcripts
        self.handoffs = handoffs
        self.hub = hub
        self.audience = AudienceRepository(handoffs.engine)
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

    async def _line(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> Optional[tuple]:
        """The transcript line of one stream row and the secret its text may hold, or None."""
        if event.get("event") == "slot" and event.get("name") == "requested_slot":
            self._remember(conversation_id, event.get("value"))
            return None
        line = transcript_line(event_id, conversation_id, event)
        if line is None:
            return None
        if line["actor"] == "customer":
            return line, expected_secret(await self._asked_for(conversation_id, event_id))
        return line, None

    async def __call__(self, event_id: int, conversation_id: str, event: Dict[str, Any]) -> None:
        await self.handle_batch([(event_id, conversation_id, event)])

    async def handle_batch(self, batch: List[StreamEvent]) -> None:
        """The consumer's batch (or one row) at once: the lines masked, stored in one
        transaction, their chats' handoffs and audiences looked up once each, all in one
        worker-thread hop; then relayed in the stream's order. With 50 chats writing at once,
        three hops per line (store, handoff, audience) had lines waiting for each other's
        thread hand-offs (docs/desk.md)."""
        lines = [found for found in [await self._line(*row) for row in batch] if found is not None]
        if not lines:
            return
        relayed = await asyncio.to_thread(self._store_and_address, lines, list(self.hub.usernames()))
        for message, audience in relayed:
            await self.hub.broadcast(message, audience)

    def _store_and_address(self, lines: List[tuple], connected: List[str]) -> List[tuple]:
        for line, expecting in lines:
            line["text"] = mask_secrets(line["text"], expecting=expecting)
        stored_lines = self.transcripts.add_many([line for line, _ in lines])
        followed: Dict[str, Any] = {}
        audiences: Dict[int, Any] = {}
        out = []
        for stored in stored_lines:
            if stored is None:
                continue  # a replayed row
            if stored.conversation_id not in followed:
                followed[stored.conversation_id] = self.handoffs.followed(stored.conversation_id)
            handoff = followed[stored.conversation_id]
            if handoff is None:
                continue  # the bot's own chat: none of the consoles' business
            # Only to the consoles that may see this chat (desk/audience.py), like the console API.
            if handoff.id not in audiences:
                audiences[handoff.id] = self.audience.of(connected, handoff)
            out.append(({"type": "transcript", "line": stored.as_json()}, audiences[handoff.id]))
        return out
