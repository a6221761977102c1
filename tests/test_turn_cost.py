"""What a turn costs the Rasa process: the tracker store publishes a turn's events in one
transaction without reading the tracker back, and action server answers are validated
with a validator built once (bot/tracker_store.py, bot/rasa_server.py)."""
from __future__ import annotations

import asyncio
import json
import sqlite3
import threading

import pytest
import sqlalchemy as sa
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.brokers.sql import SQLEventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_server import validate_action_results_with_one_validator, validate_posted_events_with_one_validator
from bot.tracker_store import MaskingSQLTrackerStore


def stored_rows(path):
    with sqlite3.connect(path) as conn:
        return [(sender, json.loads(data)) for sender, data in conn.execute("SELECT sender_id, data FROM events ORDER BY id")]


def test_each_turn_is_published_once_in_order_without_reading_the_tracker_back(tmp_path):
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    store = MaskingSQLTrackerStore(Domain.empty(), db=str(tmp_path / "tracker.db"), event_broker=broker)
    first = [ActionExecuted("action_listen"), UserUttered("你好", {"name": "greet"}), BotUttered("您好"),
             ActionExecuted("action_listen")]
    later = [UserUttered("查话费", {"name": "check_balance"}), SlotSet("requested_slot", "account_phone"),
             BotUttered("请告诉我手机号"), ActionExecuted("action_listen")]
    asyncio.run(store.save(DialogueStateTracker.from_events("c1", first)))
    reads = []

    async def next_turn():  # as Rasa does: load, add the turn's events, save (twice, like the processor)
        tracker = await store.retrieve("c1")
        original = store.retrieve

        async def counting_retrieve(sender_id):
            reads.append(sender_id)
            return await original(sender_id)

        store.retrieve = counting_retrieve
        for event in later[:2]:
            tracker.update(event)
        await store.save(tracker)
        for event in later[2:]:
            tracker.update(event)
        await store.save(tracker)

    asyncio.run(next_turn())
    assert reads == []  # a count of the stored rows says what is new
    published = [data.get("text") or data.get("value") or data.get("name") for _, data in stored_rows(tmp_path / "events.db")]
    assert published == ["action_listen", "你好", "您好", "action_listen", "查话费", "account_phone", "请告诉我手机号",
                         "action_listen"]
    assert len(stored_rows(tmp_path / "tracker.db")) == len(first) + len(later)


async def test_a_turns_database_work_leaves_the_event_loop_free_for_other_conversations(tmp_path):
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    store = MaskingSQLTrackerStore(Domain.empty(), db=str(tmp_path / "tracker.db"), event_broker=broker)
    other_conversation_ran = threading.Event()
    store_rows = store._store

    def store_after_the_loop_ran(*args):
        # Were this on the event loop, the other conversation could not run: fail, not hang.
        assert other_conversation_ran.wait(30), "the event loop was blocked while the turn was stored"
        return store_rows(*args)

    store._store = store_after_the_loop_ran

    async def other_conversation():
        other_conversation_ran.set()

    tracker = DialogueStateTracker.from_events("c1", [ActionExecuted("action_listen"), UserUttered("你好")])
    await asyncio.gather(store.save(tracker), other_conversation())
    assert [data["event"] for _, data in stored_rows(tmp_path / "tracker.db")] == ["action", "user"]
    assert [data["event"] for _, data in stored_rows(tmp_path / "events.db")] == ["action", "user"]


async def test_a_read_of_a_conversation_waits_for_its_save_on_the_way(tmp_path):
    """Rasa's tracker API reads without the conversation's lock: it must not see a turn half
    saved (nor, for a new conversation, nothing, and start a second session)."""
    store = MaskingSQLTrackerStore(Domain.empty(), db=str(tmp_path / "tracker.db"),
                                   event_broker=SQLEventBroker(db=str(tmp_path / "events.db")))
    entered, release = threading.Event(), threading.Event()
    store_rows = store._store

    def store_when_released(*args):
        entered.set()
        assert release.wait(30)
        return store_rows(*args)

    store._store = store_when_released
    tracker = DialogueStateTracker.from_events("c1", [ActionExecuted("action_listen"), UserUttered("你好")])
    saving = asyncio.ensure_future(store.save(tracker))
    while not entered.is_set():  # the save's thread is writing; let the loop run meanwhile
        await asyncio.sleep(0)
    reading = asyncio.ensure_future(store.retrieve("c1"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not reading.done()  # it waits for the save
    release.set()
    await saving
    read = await reading
    assert read is not None and [e.type_name for e in read.events] == ["action", "user"]


def test_the_sqlite_stores_keep_their_connection_and_use_wal(tmp_path):
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    store = MaskingSQLTrackerStore(Domain.empty(), db=str(tmp_path / "tracker.db"), event_broker=broker)
    for owner in (store, broker):
        assert isinstance(owner.engine.pool, sa.pool.QueuePool)
        with owner.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: no fsync per commit


def test_the_app_database_on_sqlite_uses_the_same_write_ahead_log(tmp_path):
    from bot.database import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_action_server_answers_are_still_validated():
    validate_action_results_with_one_validator()
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1"))
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []})
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"event": "no_such_event"}], "responses": []})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})


def test_events_posted_to_rasas_api_are_still_validated():
    """``POST /conversations/{id}/tracker/events`` (every agent's reply) checks the events
    with one validator built once; good events pass, bad ones get Rasa's 400 as before."""
    import types

    import rasa.server

    validate_posted_events_with_one_validator()
    check = rasa.server.validate_events_in_request_body
    check(types.SimpleNamespace(json=[{"event": "bot", "text": "您好", "metadata": {"agent": "a"}},
                                      {"event": "action", "name": "action_listen"}]))
    check(types.SimpleNamespace(json={"event": "resume"}))  # one event, not a list
    for bad in ([{"event": "no_such_event"}], [{"event": "user", "text": "hi", "parse_data": "x"}], "text"):
        with pytest.raises(rasa.server.ErrorResponse) as raised:
            check(types.SimpleNamespace(json=bad))
        assert raised.value.status == 400 and "Failed to validate the events format" in raised.value.error_info["message"]


def test_event_types_are_resolved_as_rasa_does():
    from rasa.shared.core.events import Event, SlotSet, UserUttered

    from bot.rasa_server import resolve_event_types_once

    resolve_event_types_once()
    assert Event.resolve_by_type("user") is UserUttered and Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("no_such_event", SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    events = [UserUttered("你好", {"name": "greet", "confidence": 1.0}).as_dict(), SlotSet("a", 1).as_dict()]
    assert [type(e) for e in map(Event.from_parameters, events)] == [UserUttered, SlotSet]
