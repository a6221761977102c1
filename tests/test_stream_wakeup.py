"""The event-stream consumer is woken by PostgreSQL when Rasa writes (handoff_service/stream_wakeup.py)."""
import asyncio
import os
import socket

import pytest
import sqlalchemy as sa

from handoff_service.stream_wakeup import DatagramWakeup, PollingWakeup, PostgresWakeup, wakeup_for
from tests.conftest import _create_pg_database, _drop_pg_database

needs_postgres = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL")


@pytest.fixture
def broker_url():
    admin, name, url = _create_pg_database(os.environ["TEST_DATABASE_URL"])
    yield url
    _drop_pg_database(admin, name)


def write_rasa_event(url: str, text: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the shape of Rasa's SQLEventBroker table
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255), data TEXT)"))
        conn.execute(sa.text("INSERT INTO events (sender_id, data) VALUES ('c1', :data)"), {"data": text})
    engine.dispose()


def test_sqlite_streams_are_polled_unless_rasa_can_signal_this_service():
    assert type(wakeup_for("sqlite:///events.db")) is PollingWakeup
    assert type(wakeup_for("sqlite:///events.db", 8123)) is DatagramWakeup


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_turn_the_tracker_store_publishes_wakes_the_consumer(tmp_path, monkeypatch):
    """One machine (SQLite): Rasa's store signals after the commit; the consumer wakes long
    before its fallback poll, and finds the rows there."""
    from rasa.core.brokers.sql import SQLEventBroker
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.tracker_store import MaskingSQLTrackerStore

    port = free_udp_port()
    monkeypatch.setenv("WEB_PORT", str(port))
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    store = MaskingSQLTrackerStore(Domain.empty(), db=str(tmp_path / "tracker.db"), event_broker=broker)
    wakeup = wakeup_for(f"sqlite:///{tmp_path / 'events.db'}", port)
    wakeup.fallback_seconds = 120  # a poll would come far too late to pass this test
    wakeup.start()
    try:
        assert wakeup.listening and await wakeup.wait(120) is True  # the start itself: rows from before
        saved = asyncio.ensure_future(store.save(DialogueStateTracker.from_events(
            "c1", [ActionExecuted("action_listen"), UserUttered("你好")])))
        assert await wakeup.wait(120) is True
        await saved
        with broker.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM events")).scalar() == 2
        wakeup.fallback_seconds = 0.05
        assert await wakeup.wait(0.05) is False  # nothing more was written: only the fallback poll
    finally:
        await wakeup.stop()


async def test_a_port_taken_by_another_listener_leaves_the_consumer_polling():
    port = free_udp_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", port))
        wakeup = DatagramWakeup(port)
        wakeup.start()
        try:
            assert not wakeup.listening and await wakeup.wait(0.01) is False
        finally:
            await wakeup.stop()


def test_rasa_signals_only_for_a_stream_on_sqlite(monkeypatch):
    from bot.stream_signal import StreamSignal

    monkeypatch.setenv("WEB_PORT", "8123")
    assert StreamSignal.for_stream("sqlite:////tmp/events.db").address == ("127.0.0.1", 8123)
    assert StreamSignal.for_stream("postgresql://u@h/db").address is None
    assert StreamSignal.for_stream(None).address is None


async def test_polling_waits_the_interval_and_says_nobody_woke_it():
    assert await PollingWakeup().wait(0.01) is False


@needs_postgres
async def test_a_row_rasa_writes_wakes_the_consumer_before_its_next_poll(broker_url):
    write_rasa_event(broker_url, "{}")  # Rasa created its table (the trigger needs it)
    wakeup = wakeup_for(broker_url)
    assert isinstance(wakeup, PostgresWakeup)
    wakeup.fallback_seconds = 120  # a poll would come far too late to pass this test
    wakeup.start()
    try:
        # The listener wakes the consumer once when it starts listening (rows written before).
        assert await wakeup.wait(120) is True
        assert wakeup.listening
        await asyncio.to_thread(write_rasa_event, broker_url, '{"event": "user"}')
        assert await wakeup.wait(120) is True
    finally:
        await wakeup.stop()


@needs_postgres
async def test_until_rasa_creates_its_table_the_consumer_polls(broker_url):
    wakeup = PostgresWakeup(broker_url)
    wakeup.start()
    try:
        assert await wakeup.wait(0.05) is False  # no table: no trigger, the poll interval applies
        assert not wakeup.listening
    finally:
        await wakeup.stop()
