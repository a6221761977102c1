"""Rasa's SQL tracker store, except that secrets (PINs, codes, passwords) are saved masked,
and a turn costs one read and two commits instead of a dozen.

Rasa saves the tracker (and publishes its new events to the event broker) at the end
of each turn, after the verification form's actions have checked the PIN; masking
here keeps the PIN out of the tracker database and the event stream alike, while the
turn itself still saw the real answer. Configured in endpoints.yml.

What a turn cost in stock Rasa 3.6.21, and what this store does instead (measured
under load in docs/performance.md; all of it ran on the event loop, so every other
conversation waited for it):

* To find the events to publish, ``stream_events`` loaded the conversation's tracker
  from the database a second time (every event parsed and replayed) only to take
  its length: a ``COUNT`` of the same rows gives the same number.
* The SQL event broker committed each event on its own (a turn has 5-15): one
  transaction per turn here, rows inserted in the same order, committed before the
  save goes on, so the stream keeps its order and loses nothing.
* On SQLite, SQLAlchemy 1.4 opens and closes a connection per session, and closing
  the last one checkpoints the journal; here one connection stays open, and the
  tracker database uses WAL like the others (readers do not block the writer; the
  durability trade of ``synchronous=NORMAL`` is explained in ``bot.database.sqlite_write_ahead``).
* All of that database work ran on Rasa's event loop; here it runs in a worker thread
  (one hop per turn: count, publish, store), so the loop answers other conversations
  while this one waits for its commits. The conversation itself still waits: Rasa
  awaits ``save`` under the conversation's lock, so order is kept.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.core.trackers import DialogueStateTracker

from bot.database import sqlite_write_ahead
from bot.secret_prompts import mask_secrets_in_events
from bot.stream_signal import StreamSignal

# The last event a tracker had when it came from the database (all those were masked
# when they were saved): only the events after it need the recogniser. Kept as the
# event itself, not a count, so a tracker that keeps only its latest events still works.
LAST_LOADED_EVENT = "_privacy_last_loaded_event"


def keep_sqlite_connection_open(store: Any) -> None:
    """Give a Rasa SQL store or broker on SQLite a pooled connection in WAL mode.

    ``store`` has Rasa's ``engine`` and ``sessionmaker`` attributes; PostgreSQL
    engines (already pooled) are left alone.
    """
    engine = getattr(store, "engine", None)
    if engine is None or engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    pooled = sa.create_engine(
        engine.url, poolclass=sa.pool.QueuePool, pool_size=1, max_overflow=4,
        connect_args={"check_same_thread": False, "timeout": 15},
    )

    @sa.event.listens_for(pooled, "connect")
    def _wal(dbapi_connection, _record):  # pragma: no cover - trivial
        sqlite_write_ahead(dbapi_connection)

    engine.dispose()
    store.engine = pooled
    store.sessionmaker = sa.orm.sessionmaker(bind=pooled)


class MaskingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keep_sqlite_connection_open(self)
        if isinstance(self.event_broker, SQLEventBroker):
            keep_sqlite_connection_open(self.event_broker)
        # An in-memory SQLite database exists once per connection: keep its work on the loop.
        url = self.engine.url
        self._in_threads = not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))
        # SQLite has one writer at a time, and a writer that finds the file busy sleeps in
        # steps of up to 100 ms: turns are written one after the other instead.
        self._turn_writes = threading.Lock() if url.get_backend_name() == "sqlite" else contextlib.nullcontext()
        # ... and in a thread of their own: turns waiting for that lock in the shared worker
        # threads left none free to load the trackers of the messages behind them (50 chats
        # writing at once queued a customer's line for 200 ms before Rasa even logged it).
        self._writer = (ThreadPoolExecutor(1, thread_name_prefix="tracker-writes")
                        if self._in_threads and url.get_backend_name() == "sqlite" else None)
        # Saves on their way to the database, per conversation: a read of that conversation
        # (Rasa's tracker API takes no lock) waits for them, so nobody reads a turn half saved
        # or, for a new conversation, starts its session a second time.
        self._saving: Dict[Text, "asyncio.Future[None]"] = {}
        # One machine (SQLite stream): a datagram wakes the web service's consumer after each
        # published turn, instead of its next poll (bot/stream_signal.py).
        broker_url = getattr(getattr(self.event_broker, "engine", None), "url", None)
        self._stream_signal = StreamSignal.for_stream(str(broker_url) if broker_url is not None else None)

    async def _off_loop(self, work: Callable[..., Any], *args: Any) -> Any:
        """Database work in a worker thread: while one conversation waits for its commit,
        the event loop parses, predicts and answers the others."""
        if self._in_threads:
            return await asyncio.to_thread(work, *args)
        return work(*args)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        tracker = await super().retrieve(sender_id)
        if tracker is not None and tracker.events:
            setattr(tracker, LAST_LOADED_EVENT, tracker.events[-1])
        return tracker

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Rasa's ``_retrieve``, with the query and the JSON parsing off the event loop."""
        saving = self._saving.get(sender_id)
        if saving is not None:
            await asyncio.wait([saving])  # its outcome is the saver's to handle
        events = await self._off_loop(self._stored_events, sender_id, fetch_events_from_all_sessions)
        if not (self.domain and events):
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _stored_events(self, sender_id: Text, all_sessions: bool) -> List[Dict[str, Any]]:
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=all_sessions).all()
            return [json.loads(row.data) for row in rows]

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``stream_events`` then ``save``: the new events published, then stored."""
        # The tracker stays the loop's; the thread gets a copy of the list. The new events
        # are masked there too (the recogniser is the costliest step, ~1 ms a line): the
        # conversation's lock is held until the save ends, so nothing reads them meanwhile.
        events = list(tracker.events)
        saving = asyncio.ensure_future(self._save_events(tracker.sender_id, events, _loaded_count(tracker)))
        self._saving[tracker.sender_id] = saving
        try:
            await saving
        finally:
            if self._saving.get(tracker.sender_id) is saving:
                del self._saving[tracker.sender_id]
        if tracker.events:
            setattr(tracker, LAST_LOADED_EVENT, tracker.events[-1])

    async def _save_events(self, sender_id: Text, events: List[Event], loaded: Optional[int]) -> None:
        if self.event_broker is None or isinstance(self.event_broker, SQLEventBroker):
            if self._writer is not None:
                await asyncio.get_running_loop().run_in_executor(self._writer, self._save_turn, sender_id, events, loaded)
            else:
                await self._off_loop(self._save_turn, sender_id, events, loaded)
        else:  # Rasa's Pika and Kafka producers publish from the event loop
            await self._off_loop(mask_secrets_in_events, events, loaded or 0)
            new_events = events[await self._off_loop(self._stored_count, sender_id):]
            await super()._stream_new_events(self.event_broker, new_events, sender_id)
            await self._off_loop(self._store, sender_id, new_events)

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Publishes the events not stored yet (``save`` does this itself; kept for callers of Rasa's API)."""
        if self.event_broker is None:
            return
        new_events = list(tracker.events)[await self._off_loop(self._stored_count, tracker.sender_id):]
        if new_events:
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    async def _stream_new_events(self, event_broker: EventBroker, new_events: List[Event], sender_id: Text) -> None:
        if not isinstance(event_broker, SQLEventBroker):
            return await super()._stream_new_events(event_broker, new_events, sender_id)
        await self._off_loop(self._publish, sender_id, new_events)

    def _save_turn(self, sender_id: Text, events: List[Event], loaded: Optional[int] = None) -> None:
        """``loaded``: how many of ``events`` this store read or wrote (the rest are new), when known;
        else the database is asked (a tracker the store has not seen, e.g. built by Rasa's API)."""
        mask_secrets_in_events(events, start=loaded or 0)
        with self._turn_writes:
            new_events = events[loaded if loaded is not None else self._stored_count(sender_id):]
            if new_events:
                self._publish(sender_id, new_events)
                self._store(sender_id, new_events)

    def _stored_count(self, sender_id: Text) -> int:
        """How many events the database holds for the conversation's current session: what
        Rasa computes by loading that session's tracker and taking its length."""
        with self.session_scope() as session:
            return self._event_query(session, sender_id, fetch_events_from_all_sessions=False).count()

    def _publish(self, sender_id: Text, new_events: List[Event]) -> None:
        """Rasa's ``SQLEventBroker.publish``, one transaction for the whole turn."""
        if self.event_broker is None:
            return
        broker = self.event_broker
        rows = [{"sender_id": sender_id, "data": json.dumps({"sender_id": sender_id, **event.as_dict()})}
                for event in new_events]
        with broker.engine.begin() as conn:  # one INSERT … executemany: rows in order
            conn.execute(broker.SQLBrokerEvent.__table__.insert(), rows)
        self._stream_signal.written()

    def _store(self, sender_id: Text, new_events: List[Event]) -> None:
        """The rows Rasa's ``SQLTrackerStore.save`` writes for these events, one commit."""
        rows = []
        for event in new_events:
            data = event.as_dict()
            rows.append(dict(sender_id=sender_id, type_name=event.type_name, timestamp=data.get("timestamp"),
                             intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                             action_name=data.get("name"), data=json.dumps(data)))
        with self.engine.begin() as conn:  # one INSERT … executemany: rows in order
            conn.execute(self.SQLEvent.__table__.insert(), rows)


def _loaded_count(tracker: DialogueStateTracker) -> Optional[int]:
    """How many of the tracker's events came from (or went to) the database; None when
    this store has not seen the tracker (a new one, or one loaded another way)."""
    last = getattr(tracker, LAST_LOADED_EVENT, None)
    if last is not None:
        for index in range(len(tracker.events) - 1, -1, -1):
            if tracker.events[index] is last:
                return index + 1
    return None
